/**
 * What an operator needs to see at a glance (GET /api/stats, the dashboard, the CLI): jobs by kind and status, queue
 * and poison depth, terminal transitions per minute over the last hour, provider usage per kind and the shared rate
 * limiter's state. Read with the service connection (every user's jobs); the shape is the contract in docs/dashboard.md.
 */
import type { Queryable } from '../db';
import { query } from '../db';
import { JOB_STATUSES, type JobStatus } from '../jobs/job';
import type { QueueDepthReader } from './queueDepth';

const WINDOW_MINUTES = 60;

export interface Stats {
  generatedAt: string;
  jobs: { byStatus: Record<JobStatus, number>; byKindStatus: { kind: string; status: JobStatus; count: number }[] };
  queue: { name: string; depth: number | null; poisonName: string; poisonDepth: number | null; errors?: string[] };
  throughput: { windowMinutes: number; completed: number; failed: number; perMinute: { minute: string; completed: number; failed: number }[] };
  usage: { kind: string; jobs: number; requests: number; inputTokens: number; outputTokens: number; images: number; audioSeconds: number }[];
  rateLimiter: RateLimiterState[];
}

/** One row of longhaul.rate_limits as an operator reads it: how far ahead the limit is booked, and any pause. */
export interface RateLimiterState {
  key: string;
  provider: string;
  model: string;
  /** Wait a new request would have now for a request slot (0: free). */
  requestBacklogMs: number;
  /** Wait from the token budget (0: room now). */
  tokenBacklogMs: number;
  /** Set when a provider asked everyone to wait (429 Retry-After) and that time is still ahead. */
  pausedUntil: string | null;
  updatedAt: string;
}

export interface StatsDeps {
  db: Queryable;
  queueDepth: QueueDepthReader;
  queueName: string;
}

export async function collectStats(deps: StatsDeps): Promise<Stats> {
  const poisonName = `${deps.queueName}-poison`;
  const [counts, perMinute, usage, limits, depth, poison] = await Promise.all([
    query<{ kind: string; status: JobStatus; count: number }>(deps.db, 'select kind, status, jobs::int as count from public.job_stats order by kind, status'),
    // Minutes are whole UTC minutes; the last entry is the current (partial) minute.
    query<{ minute: Date; completed: number; failed: number }>(
      deps.db,
      `with bounds as (select date_trunc('minute', now()) - make_interval(mins => $1 - 1) as since)
       select m.minute,
              count(e.id) filter (where e.to_status = 'completed')::int as completed,
              count(e.id) filter (where e.to_status = 'failed')::int as failed
       from bounds b
       cross join generate_series(b.since, date_trunc('minute', now()), interval '1 minute') as m(minute)
       left join public.job_events e
         on e.to_status in ('completed', 'failed') and e.created_at >= b.since
        and date_trunc('minute', e.created_at) = m.minute
       group by m.minute order by m.minute`,
      [WINDOW_MINUTES],
    ),
    query<{ kind: string; jobs: string; requests: string; input_tokens: string; output_tokens: string; images: string; audio_seconds: string }>(
      deps.db,
      'select kind, jobs, requests, input_tokens, output_tokens, images, audio_seconds from public.job_usage_by_kind order by kind',
    ),
    // Computed in SQL: the columns start at -infinity, which has no JavaScript Date.
    query<{ key: string; request_backlog_ms: number; token_backlog_ms: number; paused_until: Date | null; updated_at: Date }>(
      deps.db,
      `select key,
              case when request_tat > now() then ceil(extract(epoch from request_tat - now()) * 1000)::int else 0 end as request_backlog_ms,
              case when token_tat > now() then ceil(extract(epoch from token_tat - now()) * 1000)::int else 0 end as token_backlog_ms,
              case when paused_until > now() then paused_until end as paused_until,
              updated_at
       from longhaul.rate_limits order by key`,
    ),
    deps.queueDepth(deps.queueName),
    deps.queueDepth(poisonName),
  ]);

  const byStatus = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const row of counts) byStatus[row.status] += row.count;
  const minutes = perMinute.map((r) => ({ minute: r.minute.toISOString(), completed: r.completed, failed: r.failed }));
  const errors = [depth.error, poison.error].filter((e): e is string => e !== undefined);
  return {
    generatedAt: new Date().toISOString(),
    jobs: { byStatus, byKindStatus: counts },
    queue: { name: deps.queueName, depth: depth.depth, poisonName, poisonDepth: poison.depth, ...(errors.length ? { errors } : {}) },
    throughput: {
      windowMinutes: WINDOW_MINUTES,
      completed: minutes.reduce((n, m) => n + m.completed, 0),
      failed: minutes.reduce((n, m) => n + m.failed, 0),
      perMinute: minutes,
    },
    usage: usage.map((r) => ({
      kind: r.kind,
      jobs: Number(r.jobs),
      requests: Number(r.requests),
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      images: Number(r.images),
      audioSeconds: Number(r.audio_seconds),
    })),
    rateLimiter: limits.map((r) => {
      const [name = r.key] = r.key.split('#');
      const colon = name.indexOf(':');
      return {
        key: r.key,
        provider: colon < 0 ? name : name.slice(0, colon),
        model: colon < 0 ? '' : name.slice(colon + 1),
        requestBacklogMs: r.request_backlog_ms,
        tokenBacklogMs: r.token_backlog_ms,
        pausedUntil: r.paused_until?.toISOString() ?? null,
        updatedAt: r.updated_at.toISOString(),
      };
    }),
  };
}
