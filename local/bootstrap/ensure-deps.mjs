// Installs dependencies when they are missing or stale, so `npm start` and `npm test` work on a fresh clone.
// Plain ESM with Node built-ins only: it runs before anything is installed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lockFile = join(root, 'package-lock.json');
// npm ci deletes node_modules first, so a marker inside it can never outlive the tree it describes.
const marker = join(root, 'node_modules', '.longhaul-deps');

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`longhaul needs Node.js 20 or newer; this is ${process.version}.`);
  process.exit(1);
}

// What decides the installed tree: the lockfile and package.json's install-related fields. Scripts and bin do not,
// so editing them must not reinstall (it would pull node_modules from under whatever is running).
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const installFields = ['dependencies', 'devDependencies', 'optionalDependencies', 'overrides', 'allowScripts'].map((k) => [k, pkg[k] ?? null]);
const wanted = createHash('sha256')
  .update(readFileSync(lockFile))
  .update(JSON.stringify(installFields))
  .digest('hex');
const installed = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';

// Inside the test suite the tree was checked when `npm test` began; reinstalling under running tests (npm start's own
// check, run by the start test) would pull node_modules from under them.
const inSuite = process.env.LONGHAUL_DEPS_CHECKED === '1' && existsSync(join(root, 'node_modules'));
if (installed !== wanted && inSuite) {
  console.warn('dependencies look stale, but the test suite is running: not reinstalling (run npm test again)');
} else if (installed !== wanted) {
  const why = existsSync(join(root, 'node_modules')) ? 'package-lock.json changed' : 'node_modules is missing';
  console.log(`installing dependencies (${why}): npm ci`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('npm ci failed; see the output above.');
    process.exit(result.status ?? 1);
  }
  writeFileSync(marker, `${wanted}\n`);
}
