/**
 * The publish artifact: what `func azure functionapp publish` (and azd) upload is the repo minus .funcignore, and the
 * Functions host loads package.json `main` from it. These checks read the build the suite runs against (dist/, made by
 * `npm run build` before the tests), .funcignore, host.json and infra/ — they build nothing themselves.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, sep } from 'node:path';
import fg from 'fast-glob';
import { readHostConfig } from '../../local/host/hostConfig';
import { SETTING_NAMES } from '../../shared/config';
import { repoRoot } from '../support/hostProcess';
import { compileIgnore, nodeMajorsAllowed, readInfraSettings } from '../support/artifact';

const read = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as { main: string; engines?: { node?: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const posix = (p: string): string => p.split(sep).join('/');

/** Every file a built entry point loads, following relative requires; and the packages it requires by name. */
function requireGraph(entries: string[]): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const [, spec] of read(file).matchAll(/\brequire\("([^"]+)"\)/g)) {
      if (!spec) continue;
      if (spec.startsWith('.')) {
        const base = join(dirname(file), spec);
        const target = [`${base}.js`, join(base, 'index.js'), base].find((p) => existsSync(join(repoRoot, p)) && statSync(join(repoRoot, p)).isFile());
        assert.ok(target, `${file} requires ${spec}, which is not in the build`);
        queue.push(posix(target));
      } else {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!packages.has(name)) packages.set(name, file);
      }
    }
  }
  return { files, packages };
}

/** The repo's files as the publish tools see them (node_modules stands for itself: it is uploaded whole). */
function projectFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.name === 'node_modules' || entry.name === '.git' || entry.name === '.longhaul') out.push(`${path}/`);
      else if (entry.isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk('');
  return out;
}

describe('publish artifact', () => {
  const mainFiles = fg.sync(pkg.main, { cwd: repoRoot, onlyFiles: true }).sort();
  const sources = readdirSync(join(repoRoot, 'functions')).filter((f) => f.endsWith('.ts')).sort();

  it('package.json main matches one built file per functions/*.ts and nothing else (no stale or helper files)', () => {
    assert.ok(mainFiles.length > 0, `main (${pkg.main}) matches nothing: was the app built?`);
    assert.deepEqual(mainFiles, sources.map((f) => `dist/functions/${f.replace(/\.ts$/, '.js')}`), 'dist/functions differs from functions/: a stale build output would be published (delete dist/ and build again)');
    for (const file of mainFiles) {
      assert.match(read(file), /\bapp\.(?:client\.)?(?:http|get|post|put|patch|deleteRequest|storageQueue|storageBlob|timer|orchestration|activity|entity|generic)\(/, `${file} registers no function`);
    }
  });

  it('the functions load only functions/ and shared/ code, Node built-ins and declared production dependencies', () => {
    const graph = requireGraph(mainFiles);
    const outside = [...graph.files].filter((f) => !f.startsWith('dist/functions/') && !f.startsWith('dist/shared/'));
    assert.deepEqual(outside, [], 'code outside functions/ and shared/ (local/ is never deployed)');
    for (const [name, from] of graph.packages) {
      if (name.startsWith('node:') || builtinModules.includes(name)) continue;
      assert.ok(!(name in pkg.devDependencies), `${from} requires ${name}, a devDependency: it is not installed on Azure`);
      assert.ok(name in pkg.dependencies, `${from} requires ${name}, which package.json does not declare`);
    }
  });

  it('.funcignore uploads host.json, package.json and every file the functions load, and keeps sources, the local host and dev files out', () => {
    const ignored = compileIgnore(read('.funcignore'));
    const uploaded = new Set(projectFiles().filter((f) => !ignored(f)));
    const graph = requireGraph(mainFiles);
    for (const file of ['host.json', 'package.json', 'node_modules/', ...graph.files]) assert.ok(uploaded.has(file), `${file} is not uploaded`);
    const leaks = [...uploaded].filter((f) =>
      /^(local|test|bench|supabase|infra|docs|\.ci|\.github|\.vscode|dist\/(local|test|bench))\//.test(f) ||
      /\.ts$/.test(f) || /^(local\.settings.*\.json|tsconfig\.json|eslint\.config\.mjs|azure\.yaml|dist\/\.tsbuildinfo)$/.test(f));
    assert.deepEqual(leaks, [], 'dev-only files in the upload');
  });

  it('host.json is valid: extension bundle v4, hub name the infra uses, queue settings in range, timeout above the chunk budget', () => {
    const host = JSON.parse(read('host.json')) as { version: string; extensionBundle?: { id: string; version: string }; extensions?: { durableTask?: { hubName?: string } } };
    assert.equal(host.version, '2.0');
    assert.deepEqual(host.extensionBundle, { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' });
    const config = readHostConfig(repoRoot, 2);
    const hub = host.extensions?.durableTask?.hubName ?? '';
    // Task hub names: 3-45 letters and digits, starting with a letter (Azure Storage tables and queues derive from it).
    assert.match(hub, /^[A-Za-z][A-Za-z0-9]{2,44}$/);
    assert.equal(readInfraSettings(repoRoot).taskHubName, hub, 'infra/main.bicep taskHubName must equal host.json hubName');
    assert.ok(config.queues.batchSize <= 32 && config.queues.maxDequeueCount >= 1);
    const budget = Number(readInfraSettings(repoRoot).appSettings.JOB_CHUNK_TIME_BUDGET_SECONDS ?? 240) * 1000;
    assert.ok(config.functionTimeoutMs > budget, `functionTimeout ${config.functionTimeoutMs} ms must exceed the chunk time budget ${budget} ms`);
  });

  it('package.json engines allow the Node version infra deploys', () => {
    const infra = readInfraSettings(repoRoot);
    assert.equal(infra.runtimeName, 'node');
    assert.ok(pkg.engines?.node, 'package.json has no engines.node');
    assert.ok(nodeMajorsAllowed(pkg.engines.node, Number(infra.runtimeVersion)), `engines.node "${pkg.engines.node}" excludes Node ${infra.runtimeVersion}, which infra deploys`);
  });

  it('every production package (package-lock.json) runs on the Node majors package.json promises: 20 and the one infra deploys', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }> };
    const majors = [20, Number(readInfraSettings(repoRoot).runtimeVersion)];
    const excluded = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && !p.dev && p.engines && !Array.isArray(p.engines) && p.engines.node)
      .flatMap(([path, p]) => majors.filter((m) => !nodeMajorsAllowed((p.engines as { node: string }).node, m)).map((m) => `${path.replace(/^.*node_modules\//, '')} (${(p.engines as { node: string }).node}) excludes Node ${m}`));
    assert.deepEqual(excluded, []);
  });

  it('infra sets every binding expression the functions use, and only settings the app knows', () => {
    const infra = readInfraSettings(repoRoot);
    const expressions = new Set<string>();
    for (const file of mainFiles) for (const [, name] of read(file).matchAll(/'%([A-Za-z0-9_]+)%/g)) if (name) expressions.add(name);
    for (const name of expressions) assert.ok(name in infra.appSettings, `%${name}% is used by a binding but infra/main.bicep does not set ${name}`);
    // Read by the platform, by the telemetry and notification work, or by the Durable extension, not by shared/config.ts.
    const platform = /^(AzureWebJobsStorage(__\w+)?|AzureFunctionsJobHost__\w+|APPLICATIONINSIGHTS_\w+|DURABLE_TASK_SCHEDULER_CONNECTION_STRING|NOTIFY_WEBHOOK_URL)$/;
    for (const name of Object.keys(infra.appSettings)) {
      assert.ok(SETTING_NAMES.includes(name) || expressions.has(name) || platform.test(name), `infra sets ${name}, which the app does not read (a typo?)`);
    }
  });
});
