/**
 * Who is calling the jobs API: a Supabase user (JWT verified with SUPABASE_JWT_SECRET for HS256 tokens, or the
 * project's JWKS for asymmetric keys) or an operator (ADMIN_API_KEY in x-functions-key, or ?code=). Anything else is
 * 401. A user token must be one Supabase Auth issued to a signed-in user: audience `authenticated`, the project's
 * issuer (SUPABASE_JWT_ISSUER, by default <SUPABASE_URL>/auth/v1), an expiry, a user id (uuid) as subject and role
 * `authenticated` — anon and service_role tokens are not users, and operators use the admin key. Tokens and keys are
 * never logged.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { AppConfig } from '../config';
import { UnauthorizedError } from '../errors';
import type { Actor } from '../jobs/jobStore';
import { secretsEqual } from './secrets';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
/** What Supabase Auth puts in every access token; a token without one of them was not issued to a signed-in user. */
const REQUIRED_CLAIMS = ['aud', 'exp', 'iss', 'role', 'sub'];

export interface RequestCredentials {
  authorization?: string | null;
  functionsKey?: string | null;
  code?: string | null;
}

export async function authenticate(creds: RequestCredentials, config: AppConfig): Promise<Actor> {
  const key = creds.functionsKey ?? creds.code;
  if (key) {
    if (secretsEqual(key, config.adminApiKey)) return { type: 'admin' };
    throw new UnauthorizedError('the admin key is not valid');
  }
  const match = /^Bearer\s+(\S+)$/i.exec(creds.authorization ?? '');
  if (!match?.[1]) throw new UnauthorizedError('sign in: send Authorization: Bearer <Supabase access token>');
  const claims = await verifyToken(match[1], config);
  if (claims.role !== 'authenticated') {
    throw new UnauthorizedError(`tokens with role ${JSON.stringify(String(claims.role)).slice(0, 40)} cannot use this API: send a signed-in user's access token (operators use the admin key)`);
  }
  if (typeof claims.sub !== 'string' || !UUID.test(claims.sub)) throw new UnauthorizedError('the token names no user: its subject (sub) is not a user id');
  return { type: 'user', userId: claims.sub, claims: { ...claims, sub: claims.sub } };
}

/**
 * The 401 for a valid token whose user no longer exists (deleted after the token was issued): the token stays
 * verifiable until it expires, but the session it stood for is over.
 */
export function userGoneError(): UnauthorizedError {
  return new UnauthorizedError('the user of this token does not exist (any more): the session is no longer valid, sign in again');
}

async function verifyToken(token: string, config: AppConfig): Promise<JWTPayload> {
  const { jwtSecret, jwksUrl, jwtIssuer } = config.supabase;
  // jose checks these with the signature: audience and issuer exactly, the claims present, exp (and nbf) against now.
  const checks: JWTVerifyOptions = { audience: 'authenticated', issuer: jwtIssuer, requiredClaims: REQUIRED_CLAIMS };
  try {
    const { alg } = decodeProtectedHeader(token);
    if (alg === 'HS256') {
      if (!jwtSecret) throw new UnauthorizedError('HS256 tokens are not accepted: SUPABASE_JWT_SECRET is not configured');
      return (await jwtVerify(token, new TextEncoder().encode(jwtSecret), { ...checks, algorithms: ['HS256'] })).payload;
    }
    if (!jwksUrl) throw new UnauthorizedError(`${String(alg)} tokens are not accepted: SUPABASE_JWKS_URL is not configured`);
    let jwks = jwksCache.get(jwksUrl);
    if (!jwks) jwksCache.set(jwksUrl, (jwks = createRemoteJWKSet(new URL(jwksUrl))));
    return (await jwtVerify(token, jwks, { ...checks, algorithms: ['ES256', 'RS256', 'EdDSA'] })).payload;
  } catch (err) {
    if (err instanceof UnauthorizedError) throw err;
    // jose's messages say what is wrong (expired, bad signature) without echoing the token.
    throw new UnauthorizedError(`invalid token: ${(err as Error).message}`);
  }
}

/** Only signed-in users (not the admin key) may call this route. */
export function requireUser(actor: Actor): Extract<Actor, { type: 'user' }> {
  if (actor.type !== 'user') throw new UnauthorizedError('this route answers for a signed-in user: send their Supabase access token');
  return actor;
}

/** Only an operator (the admin key) may call this route; a signed-in user is 401 too. */
export function requireAdmin(actor: Actor): void {
  if (actor.type !== 'admin') throw new UnauthorizedError('this route answers for an operator: send the admin key in x-functions-key');
}
