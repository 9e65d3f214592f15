/**
 * storage:// recording URLs: parsed, decoded once and checked segment by segment before any request leaves; what
 * reaches Storage (a local stand-in speaking its HTTP API, called through the real supabase-js) is exactly the checked
 * object key, signed as the job's owner when a JWT secret is configured.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppConfig } from '../../shared/config';
import { NonRetriableError, ValidationError } from '../../shared/errors';
import { recordingAnalysisKind, recordingInputSchema } from '../../shared/kinds/recordingAnalysis';
import { resolveRecordingUrl } from '../../shared/media/source';
import { parseOwnedStorageUrl, parseStorageUrl } from '../../shared/storage/storagePath';
import { supabaseStorageAsUser } from '../../shared/storage/supabaseStorage';
import { startStorageFake, type StorageFake } from '../support/storageFake';

const owner = '1a2b3c4d-1111-4111-8111-11111111111f';
const victim = '22222222-2222-4222-8222-222222222222';
const serviceRoleKey = 'service-role-key-for-tests';
const jwtSecret = 'a-very-long-test-jwt-secret-0123456789';

/** Every way to name another user's object (or another bucket) from inside one's own folder that has been tried. */
const hostile: string[] = [
  `storage://recordings/${owner}/%2e%2e/${victim}/file.flac`,
  `storage://recordings/${owner}/%2E%2e/${victim}/file.flac`,
  `storage://recordings/${owner}/.%2e/${victim}/file.flac`,
  `storage://recordings/${owner}/%2e./${victim}/file.flac`,
  `storage://recordings/${owner}/../${victim}/file.flac`,
  `storage://recordings/${owner}/%2e%2e%2f${victim}%2ffile.flac`,
  `storage://recordings/${owner}%2f..%2f${victim}/file.flac`,
  `storage://recordings/${owner}/..%2F${victim}/file.flac`,
  `storage://recordings/${owner}/..%5c${victim}%5cfile.flac`,
  `storage://recordings/${owner}/%5C..%5C${victim}/file.flac`,
  `storage://recordings/${owner}/%252e%252e/${victim}/file.flac`,
  `storage://recordings/${owner}/%25252e%25252e/${victim}/file.flac`,
  `storage://recordings/${owner}/./file.flac`,
  `storage://recordings/${owner}/%2e/file.flac`,
  `storage://recordings/${owner}//file.flac`,
  `storage://recordings/${owner}/dir/`,
  `storage://recordings//${owner}/file.flac`,
  `storage://recordings/${owner}`,
  `storage://recordings/file.flac`,
  `storage://recordings/${victim}/file.flac`,
  `storage://recordings/${owner.toUpperCase()}/file.flac`,
  `storage://longhaul-images/${owner}/file.png`,
  `storage://recordings%2f..%2flonghaul-images/${owner}/file.png`,
  `storage://Recordings/${owner}/file.flac`,
  `storage://../recordings/${owner}/file.flac`,
  `storage:///recordings/${owner}/file.flac`,
  `storage://recordings/${owner}/%00.flac`,
  `storage://recordings/${owner}/a%0a.flac`,
  `storage://recordings/${owner}/a\u0085.flac`,
  `storage://recordings/${owner}/%zz.flac`,
  `storage://recordings/${owner}/%2.flac`,
  `storage://recordings/${owner}/%c0%ae%c0%ae/${victim}/file.flac`,
  `storage://recordings/${owner}/%ff.flac`,
  `storage://recordings/${owner}/\ud800.flac`,
  `storage://recordings/${owner}/${'a'.repeat(256)}.flac`,
  `storage://recordings/${owner}/${Array.from({ length: 9 }, () => 'b'.repeat(120)).join('/')}/c.flac`,
  `storage:/recordings/${owner}/file.flac`,
  `file:///etc/passwd`,
];

function settings(url: string, secret?: string): AppConfig['supabase'] {
  return { url, serviceRoleKey, jwtSecret: secret };
}

describe('storage:// recording paths', () => {
  let storage: StorageFake;
  before(async () => {
    storage = await startStorageFake({ serviceRoleKey, jwtSecret });
    storage.objects.set(`recordings/${owner}/meetings/talk.wav`, { body: Buffer.from('RIFF-owner'), contentType: 'audio/wav' });
    storage.objects.set(`recordings/${owner}/meetings/talk 1?#(x).wav`, { body: Buffer.from('RIFF-odd-name'), contentType: 'audio/wav' });
    storage.objects.set(`recordings/${victim}/file.flac`, { body: Buffer.from('fLaC-victim'), contentType: 'audio/flac' });
  });
  after(() => storage.close());

  it('parses a legal path into the decoded key and a per-segment encoding that decodes back to it', () => {
    const parsed = parseStorageUrl(`storage://recordings/${owner}/meetings/talk%201%3F%23(x).wav`);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
    assert.equal(parsed.path.ownerId, owner);
    assert.equal(parsed.path.key, `${owner}/meetings/talk 1?#(x).wav`);
    assert.equal(parsed.path.encodedKey, `${owner}/meetings/talk%201%3F%23(x).wav`);
    assert.equal(decodeURIComponent(parsed.path.encodedKey), parsed.path.key);
  });

  it('refuses traversal, other buckets, other folders and malformed segments, and the run-time check sends nothing', async () => {
    const before = storage.requests.length;
    for (const url of hostile) {
      const parsed = parseOwnedStorageUrl(url, owner);
      assert.equal(parsed.ok, false, `parsed: ${url}`);
      for (const secret of [undefined, jwtSecret]) {
        await assert.rejects(
          resolveRecordingUrl(url, owner, settings(storage.url, secret)),
          (err: Error) => err instanceof NonRetriableError && /^input\.url: the recording is outside the job owner's folder/.test(err.message),
          url,
        );
      }
    }
    assert.deepEqual(storage.requests.slice(before), [], 'no request reached Storage');
  });

  it('refuses the same URLs at validation (400 naming input.url), and another user\'s folder once the owner is known', () => {
    for (const url of hostile.filter((u) => !u.includes(`/recordings/${victim}/`))) {
      const result = recordingInputSchema.safeParse({ url });
      assert.equal(result.success, false, `the schema accepted ${url}`);
      assert.deepEqual(result.error?.issues[0]?.path, ['url'], url);
    }
    const victims = recordingInputSchema.parse({ url: `storage://recordings/${victim}/file.flac` });
    assert.throws(
      () => recordingAnalysisKind.checkOwner!(victims, owner),
      (err: Error) => err instanceof ValidationError && err.issues[0]?.path === 'input.url' && /another user's folder/.test(err.message),
    );
    assert.doesNotThrow(() => recordingAnalysisKind.checkOwner!(recordingInputSchema.parse({ url: `storage://recordings/${owner}/a.wav` }), owner));
    assert.doesNotThrow(() => recordingAnalysisKind.checkOwner!(recordingInputSchema.parse({ url: 'https://example.org/a.wav' }), owner));
  });

  it('without a JWT secret: signs with the service role, and Storage receives exactly the checked object key', async () => {
    const before = storage.requests.length;
    const signed = await resolveRecordingUrl(`storage://recordings/${owner}/meetings/talk%201%3F%23(x).wav`, owner, settings(storage.url));
    const [sign] = storage.requests.slice(before);
    assert.equal(sign?.method, 'POST');
    assert.equal(sign.rawPath, `/storage/v1/object/sign/recordings/${owner}/meetings/talk%201%3F%23(x).wav`);
    assert.equal(sign.path, `/storage/v1/object/sign/recordings/${owner}/meetings/talk 1?#(x).wav`);
    assert.equal(sign.headers.authorization, `Bearer ${serviceRoleKey}`);
    assert.equal(sign.user, undefined);
    assert.ok(signed.startsWith(`${storage.url}/storage/v1/object/sign/recordings/${owner}/`), signed);
  });

  it('with a JWT secret: signs as the owner with a short-lived user token, so Storage\'s policies decide', async () => {
    const before = storage.requests.length;
    const signed = await resolveRecordingUrl(`storage://recordings/${owner}/meetings/talk.wav`, owner, settings(storage.url, jwtSecret));
    const [sign] = storage.requests.slice(before);
    assert.equal(sign?.rawPath, `/storage/v1/object/sign/recordings/${owner}/meetings/talk.wav`);
    assert.notEqual(sign.headers.authorization, `Bearer ${serviceRoleKey}`, 'not the service role');
    assert.equal(sign.user?.sub, owner);
    assert.equal(sign.user?.role, 'authenticated');
    assert.equal(sign.user?.aud, 'authenticated');
    const lifetime = Number(sign.user?.exp) - Number(sign.user?.iat);
    assert.ok(lifetime > 0 && lifetime <= 300, `token lifetime ${lifetime} s`);
    const download = await fetch(signed);
    assert.equal(download.status, 200);
    assert.equal(await download.text(), 'RIFF-owner');
  });

  it('the stand-in applies the recordings policy to user tokens: the owner\'s token cannot sign the victim\'s object', async () => {
    // What makes the user token worth minting: Storage itself refuses another folder, whatever the path check did.
    const asOwner = await supabaseStorageAsUser('test', owner, settings(storage.url, jwtSecret));
    const { data, error } = await asOwner!.from('recordings').createSignedUrl(`${victim}/file.flac`, 60);
    assert.equal(data, null);
    assert.ok(error, 'refused');
  });
});
