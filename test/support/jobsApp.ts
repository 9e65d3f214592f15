/**
 * The real function app on the local host, on a migrated test database: users with credits and tokens, API calls,
 * and waiting for jobs. Integration tests and benchmarks of the job engine start from here.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { signUserToken } from '../../local/supabase/demoUser';
import { applyMigrations } from '../../local/supabase/migrate';
import { createTestDatabase, testStorageConnectionString, type TestDatabase } from './database';
import { eventually, queueSuffix, repoRoot, startHostProcess, testKeys, type HostProcess } from './hostProcess';

export interface TestUser {
  id: string;
  token: string;
}

/** The API's Job, as tests read it. */
export interface JobBody {
  id: string;
  status: string;
  attempt: number;
  creditsCharged: number;
  creditsRefunded: number;
  result: { outputs: Record<string, string>; completed: number } | null;
  progress: { done: number; total: number; percent: number };
  error?: { code: string; message: string; key?: string; details?: { issues: { path: string }[] } } | null;
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface JobsApp {
  db: TestDatabase;
  pool: Pool;
  host: HostProcess;
  env: Record<string, string>;
  queueName: string;
  adminKey: string;
  webhookSecret: string;
  jwtSecret: string;
  createUser(credits: number): Promise<TestUser>;
  api<T = Record<string, unknown>>(method: string, path: string, auth: TestUser | 'admin' | null, body?: unknown): Promise<ApiResponse<T>>;
  waitForStatus(jobId: string, statuses: string[], timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The ledger rows of a job, oldest first, as `entry:attempt:amount`. */
  ledger(jobId: string): Promise<string[]>;
  /**
   * Stops the host (kill -9 when `hard`) and starts a new one on the same database and settings; `whileDown` runs in
   * between, when no host is writing (chaos tests look at what the kill interrupted).
   */
  restartHost(hard: boolean, whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface JobsAppOptions {
  name: string;
  env?: Record<string, string>;
  /** Stand in for the Supabase webhook (default on). */
  bridge?: boolean;
  /** Superuser URL of another Postgres cluster than the shared test one (chaos tests restart their own). */
  postgresUrl?: string;
  /** Another storage account than the shared Azurite (chaos tests restart their own); null: identity settings in env. */
  storage?: string | null;
  /** SQL run on the migrated database before the host starts (chaos tests use it to break a protection on purpose). */
  afterMigrate?: string;
}

export async function startJobsApp(opts: JobsAppOptions): Promise<JobsApp> {
  const db = await createTestDatabase(opts.name, opts.postgresUrl === undefined ? undefined : () => opts.postgresUrl!);
  await applyMigrations(db.url);
  if (opts.afterMigrate) {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(opts.afterMigrate).finally(() => client.end());
  }
  const pool = new Pool({ connectionString: db.url, max: 4 });
  // A database restart (chaos tests) breaks idle connections: the pool replaces them on the next query.
  pool.on('error', () => undefined);
  const keys = testKeys();
  const adminKey = randomBytes(24).toString('hex');
  const webhookSecret = randomBytes(24).toString('hex');
  const jwtSecret = randomBytes(32).toString('hex');
  const queueName = `jobs-${queueSuffix(db.url)}`;
  const env: Record<string, string> = {
    SUPABASE_WEBHOOK_SECRET: webhookSecret,
    SUPABASE_JWT_SECRET: jwtSecret,
    // Tokens are checked against an issuer, as on Azure; tests that set SUPABASE_URL get the one derived from it.
    ...(opts.env?.SUPABASE_URL ? {} : { SUPABASE_JWT_ISSUER: 'http://127.0.0.1:54321/auth/v1' }),
    ADMIN_API_KEY: adminKey,
    JOBS_QUEUE_NAME: queueName,
    LONGHAUL_WEBHOOK_BRIDGE: opts.bridge === false ? '0' : '1',
    // Tests that exercise the sweeper lower these; elsewhere it must not race the path under test.
    SWEEPER_REDELIVER_AFTER_SECONDS: '600',
    SWEEPER_STUCK_AFTER_SECONDS: '600',
    ...opts.env,
  };
  const start = (): Promise<HostProcess> => startHostProcess({ appDir: repoRoot, databaseUrl: db.url, storage: opts.storage === undefined ? testStorageConnectionString() : opts.storage, keys, env });
  let host = await start();

  const app: JobsApp = {
    db,
    pool,
    get host() {
      return host;
    },
    env,
    queueName,
    adminKey,
    webhookSecret,
    jwtSecret,
    async createUser(credits) {
      const { rows } = await pool.query<{ id: string }>('insert into auth.users (email) values ($1) returning id', [`${randomBytes(6).toString('hex')}@test.local`]);
      const id = rows[0]!.id;
      if (credits > 0) await pool.query('select longhaul.grant_credits($1, $2)', [id, credits]);
      return { id, token: await signUserToken(id, jwtSecret, { issuer: env.SUPABASE_JWT_ISSUER ?? `${env.SUPABASE_URL!.replace(/\/+$/, '')}/auth/v1` }) };
    },
    async api(method, path, auth, body) {
      const headers: Record<string, string> = {};
      if (auth === 'admin') headers['x-functions-key'] = adminKey;
      else if (auth) headers.authorization = `Bearer ${auth.token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${host.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as never };
    },
    async waitForStatus(jobId, statuses, timeoutMs = 30_000) {
      return eventually(
        async () => {
          const { rows } = await pool.query<Record<string, unknown>>('select * from public.jobs where id = $1', [jobId]);
          return rows[0] && statuses.includes(String(rows[0].status)) ? rows[0] : undefined;
        },
        timeoutMs,
        `job ${jobId} to reach ${statuses.join('|')}`,
      );
    },
    async ledger(jobId) {
      const { rows } = await pool.query<{ entry: string; amount: string; attempt: number }>('select entry, amount, attempt from public.credit_ledger where job_id = $1 order by id', [jobId]);
      return rows.map((r) => `${r.entry}:${r.attempt}:${r.amount}`);
    },
    async restartHost(hard, whileDown) {
      await (hard ? host.kill() : host.stop());
      await whileDown?.();
      host = await start();
    },
    async stop() {
      await host.stop();
      await pool.end();
      await db.drop();
    },
  };
  return app;
}

/** A workflow input of `n` independent llm nodes (n credits), each with a distinct prompt. */
export function llmNodes(n: number, prefix = 'node'): { nodes: { id: string; type: 'llm'; prompt: string }[] } {
  return { nodes: Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, type: 'llm' as const, prompt: `${prefix} ${i}: say something` })) };
}
