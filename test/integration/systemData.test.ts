import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startPostgres } from '../../local/services/postgres';

const asRoot = process.getuid?.() === 0;

/**
 * As root, a home under a private (0700) parent keeps its Postgres data in /var/lib/longhaul/<hash>/pg, outside the
 * home. That data must not outlive the home, and a throw-away cluster must not outlive its run.
 */
describe('relocated Postgres data lives as long as its home', { skip: asRoot ? false : 'only root relocates Postgres data' }, () => {
  // mkdtemp makes 0700 directories: exactly the private parent that forces the relocation.
  const parents = [mkdtempSync(join(tmpdir(), 'longhaul-reloc-a-')), mkdtempSync(join(tmpdir(), 'longhaul-reloc-b-')), mkdtempSync(join(tmpdir(), 'longhaul-reloc-c-'))];
  const relocated: string[] = [];
  after(() => {
    for (const dir of [...parents, ...relocated]) rmSync(dir, { recursive: true, force: true });
  });

  it('records its owner, keeps it while the home exists, removes it at the next start once the home is deleted, and removes a throw-away cluster when it stops', async () => {
    const homeA = join(parents[0]!, 'home');
    const a = await startPostgres({ dataDir: join(homeA, 'pg') });
    await a.stop();
    const dirA = dirname(a.dataDir);
    relocated.push(dirA);
    assert.match(a.dataDir, /^\/var\/lib\/longhaul\/[0-9a-f]{16}\/pg$/, 'the data left the private home');
    assert.deepEqual(JSON.parse(readFileSync(join(dirA, 'owner.json'), 'utf8')), { requested: join(homeA, 'pg') });

    // Another start while home A exists: A's data is kept. B is throw-away: its data goes when it stops.
    const b = await startPostgres({ dataDir: join(parents[1]!, 'pg'), ephemeral: true });
    relocated.push(dirname(b.dataDir));
    assert.ok(existsSync(join(a.dataDir, 'PG_VERSION')), 'data of an existing home is kept');
    assert.ok(existsSync(b.dataDir));
    await b.stop();
    assert.ok(!existsSync(dirname(b.dataDir)), 'a throw-away cluster is removed when it stops');

    // Home A is deleted: the next start of any cluster removes its data.
    rmSync(parents[0]!, { recursive: true, force: true });
    const c = await startPostgres({ dataDir: join(parents[2]!, 'pg'), ephemeral: true });
    relocated.push(dirname(c.dataDir));
    assert.ok(!existsSync(dirA), 'the data of a deleted home is removed at the next start');
    await c.stop();
    assert.ok(!existsSync(dirname(c.dataDir)));
  });
});
