/** SSRF guard for recording downloads: private, loopback and link-local targets are refused unless allowed. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPrivateAddress, type Resolver } from '../../shared/media/publicAddress';
import { downloadToFile } from '../../shared/media/download';
import { NonRetriableError } from '../../shared/errors';
import { resolveRecordingUrl } from '../../shared/media/source';

describe('recording URLs and private addresses', () => {
  it('classifies loopback, private, link-local, CGNAT, unique-local and mapped addresses as private; public ones not', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', 'not-an-ip']) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '20.50.2.1', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
      assert.equal(isPrivateAddress(a), false, a);
    }
  });

  it('refuses to download from a loopback server (by IP or by name) unless private URLs are allowed; follows redirects itself', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/hop') return void res.writeHead(302, { location: '/file' }).end();
      res.writeHead(200, { 'content-length': '5' }).end('audio');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'longhaul-ssrf-'));
    try {
      await assert.rejects(downloadToFile(`${base}/file`, join(dir, 'a'), { maxBytes: 1024, allowPrivate: false }), (err: Error) => err instanceof NonRetriableError && /private or local address/.test(err.message));
      await assert.rejects(downloadToFile(`http://localhost:${(server.address() as AddressInfo).port}/file`, join(dir, 'b'), { maxBytes: 1024, allowPrivate: false }), /private or local address/);
      assert.equal(await downloadToFile(`${base}/hop`, join(dir, 'c'), { maxBytes: 1024, allowPrivate: true }), 5);
      assert.equal(readFileSync(join(dir, 'c'), 'utf8'), 'audio');
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a name that answers a public address to the check and a loopback one to the connection (DNS rebinding)', async () => {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-length': '6' }).end('secret'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'longhaul-rebind-'));
    // A hostile DNS server: the first answer is public, every later one is loopback (where the server above listens).
    let answers = 0;
    const rebinding: Resolver = (_host, _opts, callback) => callback(null, [answers++ === 0 ? { address: '93.184.215.14', family: 4 } : { address: '127.0.0.1', family: 4 }]);
    let served = 0;
    server.on('request', () => served++);
    try {
      await assert.rejects(
        downloadToFile(`http://rebind.example:${port}/file`, join(dir, 'a'), { maxBytes: 1024, allowPrivate: false, resolve: rebinding }),
        (err: Error) => err instanceof NonRetriableError && /private or local address \(rebind\.example\)/.test(err.message),
      );
      assert.equal(answers, 2, 'the name was resolved for the check and again for the connection');
      assert.equal(served, 0, 'the loopback server was never reached');
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses storage:// paths outside the owner\'s folder, dot segments included, before asking Storage to sign', async () => {
    const owner = '11111111-1111-4111-8111-111111111111';
    for (const url of [`storage://recordings/22222222-2222-4222-8222-222222222222/a.mp3`, `storage://recordings/${owner}/../22222222-2222-4222-8222-222222222222/a.mp3`, `storage://recordings/${owner}/./a.mp3`, 'storage://recordings/a.mp3']) {
      await assert.rejects(resolveRecordingUrl(url, owner), (err: Error) => err instanceof NonRetriableError && /outside the job owner's folder/.test(err.message), url);
    }
    assert.equal(await resolveRecordingUrl('https://example.org/a.mp3', owner), 'https://example.org/a.mp3');
  });
});
