/** SSRF guard for recording downloads: private, loopback and link-local targets are refused unless allowed. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertPublicUrl, isPrivateAddress, PrivateAddressError, type Resolver } from '../../shared/media/publicAddress';
import { downloadToFile } from '../../shared/media/download';
import { NonRetriableError } from '../../shared/errors';
import { resolveRecordingUrl } from '../../shared/media/source';

describe('recording URLs and private addresses', () => {
  it('refuses every address that is not ordinary public unicast: the special-purpose registries, IPv4 inside IPv6, Azure\'s wireserver', () => {
    const refused: [string, string][] = [
      ['0.0.0.0', 'this network'],
      ['0.1.2.3', 'this network'],
      ['10.1.2.3', 'private'],
      ['100.64.0.1', 'carrier-grade NAT'],
      ['100.127.255.254', 'carrier-grade NAT'],
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['168.63.129.16', "Azure's platform endpoint"],
      ['169.254.169.254', 'link-local (metadata)'],
      ['172.16.0.1', 'private'],
      ['172.31.255.254', 'private'],
      ['192.0.0.8', 'IETF protocol assignments'],
      ['192.0.2.1', 'documentation'],
      ['192.88.99.1', '6to4 relay anycast'],
      ['192.168.1.1', 'private'],
      ['198.18.0.1', 'benchmarking'],
      ['198.19.255.254', 'benchmarking'],
      ['198.51.100.7', 'documentation'],
      ['203.0.113.7', 'documentation'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['240.0.0.1', 'reserved'],
      ['255.255.255.255', 'broadcast'],
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
      ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
      ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
      ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata, hex form'],
      ['::ffff:168.63.129.16', "IPv4-mapped Azure wireserver"],
      ['::7f00:1', 'IPv4-compatible loopback'],
      ['::127.0.0.1', 'IPv4-compatible loopback, dotted'],
      ['::8.8.8.8', 'IPv4-compatible (deprecated), even of a public address'],
      ['64:ff9b::7f00:1', 'NAT64 of loopback'],
      ['64:ff9b::a9fe:a9fe', 'NAT64 of metadata'],
      ['64:ff9b::8.8.8.8', 'NAT64, refused outright'],
      ['64:ff9b:1::a00:1', 'local-use NAT64'],
      ['100::1', 'discard-only'],
      ['2001::1', 'Teredo'],
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
      ['2001:10::1', 'IETF protocol assignments (ORCHID)'],
      ['2001:1ff::1', 'IETF protocol assignments'],
      ['2001:db8::1', 'documentation'],
      ['2002:7f00:1::1', '6to4 of loopback'],
      ['2002:808:808::1', '6to4, refused outright'],
      ['3fff::1', 'documentation'],
      ['fc00::1', 'unique-local'],
      ['fd00::1', 'unique-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local with a zone'],
      ['fec0::1', 'site-local (deprecated)'],
      ['ff02::1', 'multicast'],
      ['1::', 'outside 2000::/3'],
      ['4000::1', 'outside 2000::/3'],
      ['not-an-ip', 'not an address'],
      ['', 'empty'],
    ];
    assert.deepEqual(refused.filter(([a]) => !isPrivateAddress(a)).map(([a, why]) => `${a} (${why}) passed`), []);
    const allowed = ['8.8.8.8', '1.1.1.1', '20.50.2.1', '172.32.0.1', '100.128.0.1', '168.63.129.17', '198.20.0.1', '223.255.255.254', '::ffff:8.8.8.8', '::ffff:808:808', '2001:4860:4860::8888', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '2001:200::1'];
    assert.deepEqual(allowed.filter((a) => isPrivateAddress(a)), []);
  });

  it('refuses URLs whose literal host is in a refused range, before connecting', async () => {
    for (const host of ['[::ffff:7f00:1]', '[64:ff9b::a9fe:a9fe]', '[2002:7f00:1::1]', '[::7f00:1]', '168.63.129.16', '2130706433']) {
      await assert.rejects(assertPublicUrl(new URL(`http://${host}/metadata`)), (err: Error) => err instanceof PrivateAddressError, host);
    }
    await assertPublicUrl(new URL('http://8.8.8.8/a.mp3'));
    await assertPublicUrl(new URL('http://[2001:4860:4860::8888]/a.mp3'));
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
