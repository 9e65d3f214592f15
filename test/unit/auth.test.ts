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

  const projectUrl = 'https://abcdefghijklmnop.supabase.co';
  const issuer = `${projectUrl}/auth/v1`;
  const config = () => parseConfig({ SUPABASE_URL: projectUrl, SUPABASE_JWT_SECRET: secret, SUPABASE_JWKS_URL: jwksUrl, ADMIN_API_KEY: 'admin-key-0123456789abcdef' });
  /** A user token as Supabase Auth writes it, with some claims changed or left out. */
  const userToken = (changes: Record<string, unknown> = {}, omit: string[] = [], alg: 'HS256' | 'ES256' = 'HS256'): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { sub: userId, role: 'authenticated', aud: 'authenticated', iss: issuer, iat: now, exp: now + 300, ...changes };
    for (const name of omit) delete claims[name];
    const jwt = new SignJWT(claims).setProtectedHeader(alg === 'HS256' ? { alg, typ: 'JWT' } : { alg, kid: 'k1', typ: 'JWT' });
    return alg === 'HS256' ? jwt.sign(new TextEncoder().encode(secret)) : jwt.sign(privateKey);
  };
  const refused = (err: unknown) => err instanceof UnauthorizedError && err.status === 401;

  it('accepts a Supabase HS256 access token and returns the user', async () => {
    const actor = await authenticate({ authorization: `Bearer ${await signUserToken(userId, secret, { issuer })}` }, config());
    assert.deepEqual(actor.type === 'user' && actor.userId, userId);
  });

  it('accepts an asymmetric (ES256) token verified through the project JWKS', async () => {
    const actor = await authenticate({ authorization: `Bearer ${await userToken({}, [], 'ES256')}` }, config());
    assert.equal(actor.type === 'user' && actor.userId, userId);
  });

  it('accepts only tokens Supabase Auth issues to a signed-in user: audience, issuer, expiry, subject and role checked, with either key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['no exp', {}, ['exp']],
      ['expired', { exp: now - 60 }, []],
      ['not yet valid', { nbf: now + 600 }, []],
      ['no role', {}, ['role']],
      ['role anon', { role: 'anon' }, []],
      ['role service_role', { role: 'service_role' }, []],
      ['role service_role without a user', { role: 'service_role' }, ['sub']],
      ['aud of another service', { aud: 'some-other-service' }, []],
      ['aud list without authenticated', { aud: ['some-other-service'] }, []],
      ['no aud', {}, ['aud']],
      ['iss of another project', { iss: 'https://another-project.supabase.co/auth/v1' }, []],
      ['iss of the project without /auth/v1', { iss: projectUrl }, []],
      ['no iss', {}, ['iss']],
      ['no sub', {}, ['sub']],
      ['sub not a uuid', { sub: 'alice' }, []],
    ];
    const accepted: string[] = [];
    for (const alg of ['HS256', 'ES256'] as const) {
      assert.equal((await authenticate({ authorization: `Bearer ${await userToken({}, [], alg)}` }, config())).type, 'user', `${alg}: the control`);
      for (const [name, changes, omit] of cases) {
        await authenticate({ authorization: `Bearer ${await userToken(changes, omit, alg)}` }, config()).then(
          () => accepted.push(`${alg}: ${name}`),
          (err: unknown) => void (refused(err) || accepted.push(`${alg}: ${name} failed with ${String(err)}`)),
        );
      }
    }
    assert.deepEqual(accepted, []);
  });

  it('takes the issuer from SUPABASE_JWT_ISSUER over SUPABASE_URL; without either, any issuer is accepted but one is required', async () => {
    const custom = 'https://auth.example.com/auth/v1';
    const withCustom = parseConfig({ SUPABASE_URL: `${projectUrl}/`, SUPABASE_JWT_ISSUER: custom, SUPABASE_JWT_SECRET: secret });
    assert.equal(parseConfig({ SUPABASE_URL: `${projectUrl}/` }).supabase.jwtIssuer, issuer);
    assert.equal((await authenticate({ authorization: `Bearer ${await userToken({ iss: custom })}` }, withCustom)).type, 'user');
    await assert.rejects(authenticate({ authorization: `Bearer ${await userToken()}` }, withCustom), refused);
    const noIssuer = parseConfig({ SUPABASE_JWT_SECRET: secret });
    assert.equal((await authenticate({ authorization: `Bearer ${await userToken({ iss: 'anything' })}` }, noIssuer)).type, 'user');
    await assert.rejects(authenticate({ authorization: `Bearer ${await userToken({}, ['iss'])}` }, noIssuer), refused);
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

  it('treats the admin key (header or ?code=) as admin, and a wrong key or a service_role token as 401', async () => {
    assert.equal((await authenticate({ functionsKey: 'admin-key-0123456789abcdef' }, config())).type, 'admin');
    assert.equal((await authenticate({ code: 'admin-key-0123456789abcdef' }, config())).type, 'admin');
    // The legacy service_role key as Supabase writes it: an operator's secret, but not the one this API takes.
    const service = await new SignJWT({ role: 'service_role', iss: 'supabase' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    await assert.rejects(authenticate({ authorization: `Bearer ${service}` }, config()), refused);
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
