// ESLint flat config. The second block keeps orchestrator code pure: orchestrators replay from the start on every
// wake-up, so anything non-deterministic or any I/O in them breaks replay (durable-js samples; Temporal's workflow lint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const peerLibraries = ['graphile-worker', 'graphile-worker/*', 'pg-boss', 'pg-boss/*'];
const orchestratorFiles = ['functions/**/*Orchestrator.ts', 'functions/stageRunner.ts', 'functions/**/*Orchestration.ts', 'shared/orchestration/**/*.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.longhaul/**', 'test-artifacts/**', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  // The peers the benchmarks compare with are dev dependencies: only bench/ may import them (they are not deployed).
  {
    files: ['functions/**/*.ts', 'shared/**/*.ts', 'local/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: peerLibraries, message: 'Benchmark peers are dev dependencies: import them from bench/ only.' }] }] },
  },
  {
    files: orchestratorFiles,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: 'Orchestrators must not use Node built-ins: they replay deterministically.' })),
          patterns: [
            { group: ['node:*'], message: 'Orchestrators must not use Node built-ins: they replay deterministically.' },
            { group: peerLibraries, message: 'Benchmark peers are dev dependencies: import them from bench/ only.' },
            { group: ['pg', 'pg-*', '@azure/storage-*', 'openai', '@google/genai', '@anthropic-ai/sdk', '@supabase/*'], message: 'Orchestrators do no I/O: call an activity.' },
            { group: ['**/db', '**/db/**', '**/ai', '**/ai/**', '**/config', '**/storage', '**/storage/**'], message: 'Orchestrators import activity names and types only, never clients or configuration.' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Orchestrators must not read configuration: pass it in the input.' },
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime.' },
        { object: 'Math', property: 'random', message: 'Use context.df.newGuid() for determinism.' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Orchestrators must not touch the process.' },
        { name: 'setTimeout', message: 'Use context.df.createTimer.' },
        { name: 'setInterval', message: 'Use context.df.createTimer.' },
        { name: 'fetch', message: 'Orchestrators do no I/O: call an activity.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use context.df.currentUtcDateTime.' },
      ],
    },
  },
);
