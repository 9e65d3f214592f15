/**
 * SQL access for the local Durable backend: creating instances, queries and control messages used by the
 * management API. Episode and activity processing live in their workers; they share these helpers.
 */
import type { Pool, PoolClient } from 'pg';
import { EventType, TERMINAL_STATUSES, event, isTerminal, type InboxEvent, type RetryState, type RuntimeStatus } from './history';
import { newExecutionId } from './episode';
import { DURABLE_SCHEMA_SQL } from './schema';

type Queryable = Pool | PoolClient;

export interface InstanceRow {
  instance_id: string;
  name: string;
  version: string;
  execution_id: string;
  status: RuntimeStatus;
  input: string | null;
  output: string | null;
  custom_status: string | null;
  parent: ParentLink | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  generation: number;
  episode: number;
  processed_actions: number;
  next_event_id: number;
  last_timestamp: Date | null;
  history_events: number;
}

/** How a sub-orchestration reports back to its parent. */
export interface ParentLink {
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  retry: RetryState | null;
}

export async function ensureSchema(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Several hosts may start at once on one database: serialise the idempotent DDL.
    await client.query('select pg_advisory_lock(19528, 0)');
    await client.query(DURABLE_SCHEMA_SQL);
  } finally {
    await client.query('select pg_advisory_unlock(19528, 0)').catch(() => undefined);
    client.release();
  }
}

export interface NewInstance {
  instanceId: string;
  name: string;
  version?: string;
  /** JSON text of the input, or null for none. */
  input: string | null;
  parent?: ParentLink;
}

/**
 * Creates (or re-creates, if the existing one finished) an instance and queues its ExecutionStarted.
 * Returns 'conflict' when an instance with that id is still pending, running or suspended.
 * Must run inside a transaction.
 */
export async function createInstance(client: PoolClient, spec: NewInstance): Promise<'created' | 'conflict'> {
  const executionId = newExecutionId();
  // The common case in one round trip (every job start and sub-orchestration takes it): a new id gets its row and its
  // ExecutionStarted together. An id that exists, live or finished, inserts nothing and takes the path below; a
  // concurrent creator of the same id waits on the unique index here and then finds the winner's live instance there.
  const fresh = await client.query({
    name: 'durabletask-create-instance',
    text: `with i as (
         insert into durabletask.instances (instance_id, name, version, execution_id, status, input, parent)
         values ($1, $2, $3, $4, 'Pending', $5, $6) on conflict (instance_id) do nothing returning instance_id)
       insert into durabletask.inbox (instance_id, execution_id, event_type, event)
       select instance_id, $4, $7, $8 from i`,
    values: [spec.instanceId, spec.name, spec.version ?? '', executionId, spec.input, spec.parent ? JSON.stringify(spec.parent) : null,
      EventType.ExecutionStarted, JSON.stringify(startedEvent(spec.instanceId, executionId, spec.name, spec.version ?? '', spec.input, spec.parent))],
  });
  if (fresh.rowCount === 1) return 'created';
  const existing = await client.query<{ status: string }>('select status from durabletask.instances where instance_id = $1 for update', [spec.instanceId]);
  const current = existing.rows[0];
  if (current && !isTerminal(current.status)) return 'conflict';
  if (current) {
    await client.query('delete from durabletask.history where instance_id = $1', [spec.instanceId]);
    await client.query('delete from durabletask.inbox where instance_id = $1', [spec.instanceId]);
    await client.query('delete from durabletask.activities where instance_id = $1', [spec.instanceId]);
  }
  // The WHERE makes a concurrent creator lose cleanly: with no row to lock, two startNew calls can both get here; the
  // second waits on the unique index and then finds a live instance, which it must not overwrite.
  const inserted = await client.query(
    `insert into durabletask.instances (instance_id, name, version, execution_id, status, input, parent)
     values ($1, $2, $3, $4, 'Pending', $5, $6)
     on conflict (instance_id) do update set name = excluded.name, version = excluded.version,
       execution_id = excluded.execution_id, status = 'Pending', input = excluded.input, output = null,
       custom_status = null, parent = excluded.parent, created_at = clock_timestamp(), updated_at = clock_timestamp(),
       completed_at = null, generation = 0, episode = 0, processed_actions = 0, next_event_id = 0,
       last_timestamp = null, history_events = 0
     where durabletask.instances.status = any($7::text[])
     returning instance_id`,
    [spec.instanceId, spec.name, spec.version ?? '', executionId, spec.input, spec.parent ? JSON.stringify(spec.parent) : null, [...TERMINAL_STATUSES]],
  );
  if (inserted.rowCount === 0) return 'conflict';
  await enqueueStart(client, spec.instanceId, executionId, spec.name, spec.version ?? '', spec.input, spec.parent);
  return 'created';
}

/** Queues the ExecutionStarted message of a generation. */
export async function enqueueStart(
  client: Queryable,
  instanceId: string,
  executionId: string,
  name: string,
  version: string,
  input: string | null,
  parent?: ParentLink | null,
): Promise<void> {
  await sendMessage(client, instanceId, executionId, startedEvent(instanceId, executionId, name, version, input, parent));
}

function startedEvent(instanceId: string, executionId: string, name: string, version: string, input: string | null, parent?: ParentLink | null): InboxEvent {
  return event(EventType.ExecutionStarted, new Date().toISOString(), {
    Name: name,
    Version: version,
    Input: input ?? 'null',
    OrchestrationInstance: { InstanceId: instanceId, ExecutionId: executionId },
    ...(parent
      ? { ParentInstance: { Name: parent.name, Version: '', TaskScheduleId: parent.taskId, OrchestrationInstance: { InstanceId: parent.instanceId, ExecutionId: parent.executionId } } }
      : {}),
  });
}

/** Inserts one inbox message. */
export async function sendMessage(client: Queryable, instanceId: string, executionId: string | null, message: InboxEvent, visibleAt?: Date): Promise<void> {
  await client.query(
    'insert into durabletask.inbox (instance_id, execution_id, event_type, event, visible_at) values ($1, $2, $3, $4, coalesce($5, clock_timestamp()))',
    [instanceId, executionId, message.EventType, JSON.stringify(message), visibleAt ?? null],
  );
}

export async function getInstance(db: Queryable, instanceId: string): Promise<InstanceRow | undefined> {
  const result = await db.query<InstanceRow>('select * from durabletask.instances where instance_id = $1', [instanceId]);
  return result.rows[0];
}

export interface InstanceFilter {
  instanceIdPrefix?: string;
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  runtimeStatus?: string[];
}

function filterSql(filter: InstanceFilter, params: unknown[]): string {
  const where: string[] = [];
  if (filter.instanceIdPrefix) {
    params.push(`${filter.instanceIdPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`instance_id like $${params.length}`);
  }
  if (filter.createdTimeFrom) {
    params.push(filter.createdTimeFrom);
    where.push(`created_at >= $${params.length}`);
  }
  if (filter.createdTimeTo) {
    params.push(filter.createdTimeTo);
    where.push(`created_at <= $${params.length}`);
  }
  if (filter.runtimeStatus && filter.runtimeStatus.length > 0) {
    params.push(filter.runtimeStatus);
    where.push(`status = any($${params.length}::text[])`);
  }
  return where.length ? `where ${where.join(' and ')}` : '';
}

/** Keyset-paged listing ordered by creation time; the token is opaque to clients. */
export async function listInstances(
  db: Queryable,
  filter: InstanceFilter,
  top: number,
  continuation?: string,
): Promise<{ rows: InstanceRow[]; next?: string }> {
  const params: unknown[] = [];
  let where = filterSql(filter, params);
  if (continuation) {
    const [at, id] = JSON.parse(Buffer.from(continuation, 'base64url').toString('utf8')) as [string, string];
    params.push(at, id);
    where += `${where ? ' and' : 'where'} (created_at, instance_id) > ($${params.length - 1}::timestamptz, $${params.length})`;
  }
  params.push(top + 1);
  // The token keeps microseconds (a JS Date would drop them and repeat rows across pages).
  const result = await db.query<InstanceRow & { created_key: string }>(
    `select *, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_key
     from durabletask.instances ${where} order by created_at, instance_id limit $${params.length}`,
    params,
  );
  const rows = result.rows.slice(0, top);
  const last = rows[rows.length - 1];
  const next = result.rows.length > top && last
    ? Buffer.from(JSON.stringify([last.created_key, last.instance_id])).toString('base64url')
    : undefined;
  return { rows, ...(next ? { next } : {}) };
}

/** Deletes instances and everything that belongs to them. */
export async function purgeInstances(db: Pool, filter: InstanceFilter & { instanceId?: string }): Promise<number> {
  const client = await db.connect();
  try {
    await client.query('begin');
    const params: unknown[] = [];
    const where = filter.instanceId ? ((params.push(filter.instanceId)), 'where instance_id = $1') : filterSql(filter, params);
    const deleted = await client.query<{ instance_id: string }>(`delete from durabletask.instances ${where} returning instance_id`, params);
    const ids = deleted.rows.map((r) => r.instance_id);
    if (ids.length) {
      await client.query('delete from durabletask.history where instance_id = any($1::text[])', [ids]);
      await client.query('delete from durabletask.inbox where instance_id = any($1::text[])', [ids]);
      await client.query('delete from durabletask.activities where instance_id = any($1::text[])', [ids]);
    }
    await client.query('commit');
    return ids.length;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function readHistory(db: Queryable, instanceId: string): Promise<string[]> {
  const result = await db.query<{ event: string }>('select event from durabletask.history where instance_id = $1 order by seq', [instanceId]);
  return result.rows.map((r) => r.event);
}
