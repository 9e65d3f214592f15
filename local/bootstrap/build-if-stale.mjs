// `npm start`'s build step: runs the TypeScript build unless the last successful one is newer than every input
// (make's rule), so a start with nothing changed skips the ~4 s that tsc needs just to find nothing to do.
// Inputs: tsconfig.json, package.json, the lockfile, the installed tree's marker and every folder and .ts file the
// tsconfig includes; a folder's time changes when a file in it is added, removed or renamed. `npm test` and
// `npm run bench` always run tsc.
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const marker = join(root, 'dist', '.longhaul-build');
// The tsconfig's "include" roots (tsconfig.json is itself an input, so a new root there triggers a build).
const SOURCE_ROOTS = ['functions', 'shared', 'local', 'test', 'bench'];
const FILES = ['tsconfig.json', 'package.json', 'package-lock.json', join('node_modules', '.longhaul-deps')];

function newestUnder(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestUnder(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function stale() {
  if (!existsSync(marker)) return true;
  const built = statSync(marker).mtimeMs;
  const files = FILES.map((f) => join(root, f)).filter(existsSync).map((f) => statSync(f).mtimeMs);
  const sources = SOURCE_ROOTS.map((d) => join(root, d)).filter(existsSync).map(newestUnder);
  return Math.max(...files, ...sources) >= built;
}

if (stale()) {
  // The marker carries the time the build began: a file saved while tsc runs is newer, so the next start builds again.
  const began = new Date();
  const result = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  writeFileSync(marker, `${began.toISOString()}\n`);
  utimesSync(marker, began, began);
}
