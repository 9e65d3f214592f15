/**
 * The local demo user: a row in auth.users with 10,000 credits granted once, and an access token signed like
 * Supabase's (HS256 with the project's JWT secret, role and aud `authenticated`, an issuer and an expiry), so curl and
 * supabase-js examples work against `npm start` without a sign-up flow.
 */
import { SignJWT } from 'jose';
import { Client } from 'pg';
import { parseConfig } from '../../shared/config';

export const DEMO_EMAIL = 'demo@longhaul.local';
export const DEMO_CREDITS = 10_000;

export interface DemoUser {
  id: string;
  email: string;
  token: string;
}

/** The issuer of local tokens when none is configured (the API then checks only that a token names one). */
export const LOCAL_ISSUER = 'http://127.0.0.1/auth/v1';

/**
 * Signs a Supabase-style access token for a user: the claims Supabase Auth writes (aud, iss, exp, sub, role) and the
 * API requires. `issuer` must be the API's (SUPABASE_JWT_ISSUER, or <SUPABASE_URL>/auth/v1) when it has one.
 */
export async function signUserToken(userId: string, jwtSecret: string, opts: { email?: string; expiresIn?: string; issuer?: string } = {}): Promise<string> {
  return new SignJWT({ role: 'authenticated', email: opts.email, aal: 'aal1' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setAudience('authenticated')
    .setIssuer(opts.issuer ?? LOCAL_ISSUER)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '30d')
    .sign(new TextEncoder().encode(jwtSecret));
}

/** `issuer`: the one the app expects, read from the same settings the host got (SUPABASE_JWT_ISSUER / SUPABASE_URL). */
export async function ensureDemoUser(databaseUrl: string, jwtSecret: string, issuer = parseConfig(process.env).supabase.jwtIssuer): Promise<DemoUser> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    const existing = await client.query<{ id: string }>('select id from auth.users where email = $1', [DEMO_EMAIL]);
    let id = existing.rows[0]?.id;
    if (!id) {
      id = (await client.query<{ id: string }>('insert into auth.users (email) values ($1) returning id', [DEMO_EMAIL])).rows[0]!.id;
      await client.query("select longhaul.grant_credits($1, $2, 'local demo user')", [id, DEMO_CREDITS]);
    }
    await client.query('commit');
    return { id, email: DEMO_EMAIL, token: await signUserToken(id, jwtSecret, { email: DEMO_EMAIL, issuer }) };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
