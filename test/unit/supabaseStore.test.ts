/**
 * The Supabase Storage output store (IMAGE_STORAGE=supabase) lists a job's folder at any depth and page, and deletes
 * what it listed, through the real supabase-js against a local stand-in of Storage's HTTP API: what a purge relies on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSupabaseStore } from '../../shared/storage/supabaseStore';
import { startStorageFake, type StorageFake } from '../support/storageFake';

const job = '3c9d2f1e-5b6a-4c7d-8e9f-0a1b2c3d4e5f';

describe('Supabase Storage output store: list and remove', () => {
  let storage: StorageFake;
  before(async () => {
    storage = await startStorageFake({ serviceRoleKey: 'service-role-key' });
  });
  after(() => storage.close());

  it('lists every object under a job\'s folder (subfolders, more than one page) and removes them, idempotently', async () => {
    const store = createSupabaseStore({ bucket: 'longhaul-images', urlLifetimeMs: 60_000, project: { url: storage.url, serviceRoleKey: 'service-role-key' } });
    const mine = [...Array.from({ length: 1003 }, (_, i) => `${job}/img-${String(i).padStart(4, '0')}.png`), `${job}/thumbs/a.png`, `${job}/thumbs/deep/b.png`];
    const others = [`${job}-other/img.png`, `other/${job}/img.png`];
    for (const name of [...mine, ...others]) storage.objects.set(`longhaul-images/${name}`, { body: Buffer.from(name), contentType: 'image/png' });

    const listed = await store.list(job);
    assert.deepEqual([...listed].sort(), [...mine].sort());
    await store.remove(listed);
    assert.deepEqual([...storage.objects.keys()].sort(), others.map((n) => `longhaul-images/${n}`).sort(), 'only the job\'s objects are gone');
    await store.remove(listed);
    assert.deepEqual(await store.list(job), [], 'a second purge finds nothing and fails on nothing');
  });
});
