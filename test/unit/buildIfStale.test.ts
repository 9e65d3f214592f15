import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/hostProcess';

/**
 * `npm start`'s build step in a scratch tree laid out like the repository, with a `tsc` that only counts its runs
 * (what is under test is the decision to build, not the compiler).
 */
function scratchTree(): { dir: string; run: () => number; builds: () => number } {
  const dir = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
  mkdirSync(join(dir, 'local', 'bootstrap'), { recursive: true });
  copyFileSync(join(repoRoot, 'local', 'bootstrap', 'build-if-stale.mjs'), join(dir, 'local', 'bootstrap', 'build-if-stale.mjs'));
  mkdirSync(join(dir, 'node_modules', 'typescript', 'bin'), { recursive: true });
  writeFileSync(
    join(dir, 'node_modules', 'typescript', 'bin', 'tsc'),
    "const fs = require('fs'); fs.mkdirSync('dist', { recursive: true }); fs.appendFileSync('dist/runs', 'x');\n",
  );
  mkdirSync(join(dir, 'shared', 'jobs'), { recursive: true });
  writeFileSync(join(dir, 'shared', 'jobs', 'job.ts'), 'export {};\n');
  writeFileSync(join(dir, 'tsconfig.json'), '{}\n');
  const run = (): number => spawnSync(process.execPath, [join(dir, 'local', 'bootstrap', 'build-if-stale.mjs')], { cwd: dir }).status ?? -1;
  const builds = (): number => (existsSync(join(dir, 'dist', 'runs')) ? readFileSync(join(dir, 'dist', 'runs'), 'utf8').length : 0);
  return { dir, run, builds };
}

function age(path: string, when: Date): void {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) age(join(path, name), when);
  utimesSync(path, when, when);
}

// One change after the last build, without waiting for the clock: everything is moved 20 s back, the build 10 s
// back, and only `path` to now.
function changed(dir: string, path: string): void {
  age(dir, new Date(Date.now() - 20_000));
  utimesSync(join(dir, 'dist', '.longhaul-build'), new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
  utimesSync(path, new Date(), new Date());
}

describe('npm start builds only when something changed', () => {
  it('builds a fresh tree, skips an unchanged one, and builds again after an edit, a new file, a deleted file or a tsconfig change', () => {
    const { dir, run, builds } = scratchTree();
    try {
      assert.equal(run(), 0);
      assert.equal(builds(), 1, 'no build yet: tsc runs');
      run();
      assert.equal(builds(), 1, 'nothing changed: tsc is skipped');
      changed(dir, join(dir, 'shared', 'jobs', 'job.ts'));
      run();
      assert.equal(builds(), 2, 'an edited source');
      run();
      assert.equal(builds(), 2);
      writeFileSync(join(dir, 'shared', 'jobs', 'new.ts'), 'export {};\n');
      changed(dir, join(dir, 'shared', 'jobs', 'new.ts'));
      run();
      assert.equal(builds(), 3, 'a new source');
      rmSync(join(dir, 'shared', 'jobs', 'new.ts'));
      changed(dir, join(dir, 'shared', 'jobs'));
      run();
      assert.equal(builds(), 4, 'a deleted source (its folder changed)');
      changed(dir, join(dir, 'tsconfig.json'));
      run();
      assert.equal(builds(), 5, 'tsconfig.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails when tsc fails, and builds again next time', () => {
    const { dir, run, builds } = scratchTree();
    try {
      writeFileSync(join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), "require('fs').mkdirSync('dist', { recursive: true }); require('fs').appendFileSync('dist/runs', 'x'); process.exit(2);\n");
      assert.equal(run(), 2);
      assert.equal(run(), 2);
      assert.equal(builds(), 2, 'a failed build leaves no marker');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
