import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { authenticate } from '../../shared/api/auth';
import { secretsEqual } from '../../shared/api/secrets';
import { parseConfig } from '../../shared/config';
import { UnauthorizedError } from '../../shared/errors';
import { signUserToken } from '../../local/supabase/demoUser';

const userId = '2f1d9c4e-8a53-4c2b-9d55-6b8f3a1e0c77';
const secret = 'a-very-long-test-jwt-secret-0123456789';

describe('API authentication', () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/v1/.well-known/jwks.json`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const config = () => parseConfig({ SUPABASE_JWT_SECRET: secret, SUPABASE_JWKS_URL: jwksUrl, ADMIN_API_KEY: 'admin-key-0123456789abcdef' });

  it('accepts a Supabase HS256 access token and returns the user', async () => {
    const actor = await authenticate({ authorization: `Bearer ${await signUserToken(userId, secret)}` }, config());
    assert.deepEqual(actor.type === 'user' && actor.userId, userId);
  });

  it('accepts an asymmetric (ES256) token verified through the project JWKS', async () => {
    const token = await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject(userId).setExpirationTime('5m').sign(privateKey);
    const actor = await authenticate({ authorization: `Bearer ${token}` }, config());
    assert.equal(actor.type === 'user' && actor.userId, userId);
  });

  it('rejects forged, expired, role-less-user and anonymous tokens with 401', async () => {
    const forged = await signUserToken(userId, 'another-secret-that-is-long-enough');
    const expired = await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(secret));
    const anon = await new SignJWT({ role: 'anon' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    for (const token of [forged, expired, anon, 'not.a.jwt']) {
      await assert.rejects(authenticate({ authorization: `Bearer ${token}` }, config()), (err: unknown) => err instanceof UnauthorizedError && err.status === 401);
    }
    await assert.rejects(authenticate({}, config()), UnauthorizedError);
  });

  it('treats the admin key (header or ?code=) and a service_role token as admin, and a wrong key as 401', async () => {
    assert.equal((await authenticate({ functionsKey: 'admin-key-0123456789abcdef' }, config())).type, 'admin');
    assert.equal((await authenticate({ code: 'admin-key-0123456789abcdef' }, config())).type, 'admin');
    const service = await new SignJWT({ role: 'service_role' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    assert.equal((await authenticate({ authorization: `Bearer ${service}` }, config())).type, 'admin');
    await assert.rejects(authenticate({ functionsKey: 'admin-key-0123456789abcdeX' }, config()), UnauthorizedError);
    // No admin key configured: no key opens the admin side.
    await assert.rejects(authenticate({ functionsKey: 'anything' }, parseConfig({})), UnauthorizedError);
  });

  it('compares secrets in constant time regardless of length and refuses empty ones', () => {
    assert.equal(secretsEqual('abc', 'abc'), true);
    assert.equal(secretsEqual('abc', 'abcd'), false);
    assert.equal(secretsEqual('', ''), false);
    assert.equal(secretsEqual(undefined, 'x'), false);
  });
});
