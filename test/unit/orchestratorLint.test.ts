import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { repoRoot } from '../support/hostProcess';

const impure = `
import { readFileSync } from 'node:fs';
import { Pool } from 'pg';
import { getConfig } from '../shared/config';
export function* orchestrator(): Generator<unknown, number, unknown> {
  const started = Date.now();
  const now = new Date();
  const key = process.env.SECRET;
  setTimeout(() => undefined, 10);
  void readFileSync; void Pool; void getConfig; void now; void key;
  yield Math.random();
  return started;
}
`;

describe('orchestrator purity lint', () => {
  it('rejects built-ins, database clients, configuration, process.env, Date.now, new Date(), timers and Math.random in orchestrator files', async () => {
    const eslint = new ESLint({ cwd: repoRoot });
    const [result] = await eslint.lintText(impure, { filePath: `${repoRoot}/functions/exampleOrchestrator.ts` });
    const messages = (result?.messages ?? []).map((m) => m.message);
    for (const expected of [
      'Orchestrators must not use Node built-ins',
      'Orchestrators do no I/O: call an activity.',
      'never clients or configuration',
      'Orchestrators must not read configuration',
      'Use context.df.currentUtcDateTime.',
      'Use context.df.createTimer.',
      'Use context.df.newGuid() for determinism.',
    ]) {
      assert.ok(messages.some((m) => m.includes(expected)), `expected a lint error containing "${expected}", got:\n${messages.join('\n')}`);
    }
  });

  it('leaves the same code alone outside orchestrator files', async () => {
    const eslint = new ESLint({ cwd: repoRoot });
    const [result] = await eslint.lintText(impure, { filePath: `${repoRoot}/shared/example.ts` });
    const purity = (result?.messages ?? []).filter((m) => /Orchestrators|context\.df/.test(m.message));
    assert.deepEqual(purity, []);
  });
});
