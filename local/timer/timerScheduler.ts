/**
 * Timer triggers: 6-field NCRONTAB schedules ({second} {minute} {hour} {day} {month} {day-of-week}, parsed by croner)
 * or TimeSpan intervals, `runOnStartup`, and the schedule monitor. Like the host, a timer fires on one instance only:
 * hosts sharing a database race to advance the schedule row, and only the winner invokes the function.
 * A missed occurrence found at start-up fires once with `isPastDue: true`.
 */
import { Cron } from 'croner';
import type { Pool } from 'pg';
import { parseTimeSpan } from '../host/hostConfig';
import type { HostLogger } from '../host/logger';
import type { RpcTypedData } from '../host/rpc';

export const TIMER_SCHEMA_SQL = `
create schema if not exists functions_host;
create table if not exists functions_host.timer_schedules (
  function_name text primary key,
  last_run timestamptz,
  next_run timestamptz,
  updated_at timestamptz not null default clock_timestamp()
);
comment on table functions_host.timer_schedules is 'Schedule monitor of timer triggers (the host keeps this in blob storage).';
`;

export interface TimerOptions {
  functionName: string;
  schedule: string;
  runOnStartup: boolean;
  useMonitor: boolean;
  invoke(trigger: RpcTypedData): Promise<void>;
}

/** Next occurrence after `from` for an NCRONTAB expression or a TimeSpan interval. */
export function nextOccurrence(schedule: string, from: Date): Date {
  if (/^\d+(\.\d+)?:\d{1,2}:\d{1,2}/.test(schedule) || /^\d{1,2}:\d{1,2}:\d{1,2}$/.test(schedule)) {
    return new Date(from.getTime() + parseTimeSpan(schedule));
  }
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`Timer schedule "${schedule}" must have 6 fields ({second} {minute} {hour} {day} {month} {day-of-week})`);
  const next = new Cron(schedule, { paused: true, timezone: 'UTC' }).nextRun(from);
  if (!next) throw new Error(`Timer schedule "${schedule}" never fires`);
  return next;
}

export class TimerScheduler {
  #timers: NodeJS.Timeout[] = [];
  #running = false;
  #inFlight = new Set<Promise<void>>();

  constructor(private readonly pool: Pool, private readonly log: HostLogger) {}

  async add(opts: TimerOptions): Promise<void> {
    this.#running = true;
    nextOccurrence(opts.schedule, new Date()); // validate now, so a bad schedule stops start-up
    await this.pool.query('insert into functions_host.timer_schedules (function_name) values ($1) on conflict do nothing', [opts.functionName]);
    const row = await this.pool.query<{ last_run: Date | null; next_run: Date | null }>(
      'select last_run, next_run from functions_host.timer_schedules where function_name = $1',
      [opts.functionName],
    );
    const recorded = row.rows[0];
    const now = new Date();
    if (opts.useMonitor && recorded?.next_run && recorded.next_run.getTime() < now.getTime() - 1000) {
      await this.#fire(opts, recorded.next_run, true, recorded.last_run);
    } else if (opts.runOnStartup) {
      this.#track(this.#invoke(opts, now, false, recorded?.last_run ?? null, nextOccurrence(opts.schedule, now)));
    }
    this.#arm(opts);
  }

  #arm(opts: TimerOptions): void {
    if (!this.#running) return;
    const due = nextOccurrence(opts.schedule, new Date());
    // setTimeout caps at ~24.8 days; re-arm in steps for longer gaps.
    const delay = Math.min(due.getTime() - Date.now(), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.#timers = this.#timers.filter((t) => t !== timer);
      if (Date.now() + 5 < due.getTime()) return this.#arm(opts);
      this.#track(this.#fire(opts, due, false, null).finally(() => this.#arm(opts)));
    }, Math.max(0, delay));
    this.#timers.push(timer);
  }

  #track(task: Promise<void>): void {
    this.#inFlight.add(task);
    void task.finally(() => this.#inFlight.delete(task));
  }

  /** Claims the occurrence (one host wins) and invokes the function. */
  async #fire(opts: TimerOptions, due: Date, pastDue: boolean, last: Date | null): Promise<void> {
    try {
      const next = nextOccurrence(opts.schedule, new Date(Math.max(Date.now(), due.getTime())));
      const claimed = await this.pool.query<{ last_run: Date | null }>(
        `update functions_host.timer_schedules t set last_run = $2, next_run = $3, updated_at = clock_timestamp()
         from (select last_run from functions_host.timer_schedules where function_name = $1 for update) prev
         where t.function_name = $1 and (t.last_run is null or t.last_run < $2)
         returning prev.last_run`,
        [opts.functionName, due, next],
      );
      if (claimed.rowCount === 0) return;
      await this.#invoke(opts, due, pastDue, claimed.rows[0]?.last_run ?? last, next);
    } catch (err) {
      this.log.error(`timer "${opts.functionName}" failed: ${(err as Error).message}`);
    }
  }

  async #invoke(opts: TimerOptions, due: Date, pastDue: boolean, last: Date | null, next: Date): Promise<void> {
    const payload = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: { Last: (last ?? due).toISOString(), Next: next.toISOString(), LastUpdated: new Date().toISOString() },
      IsPastDue: pastDue,
    };
    await opts.invoke({ json: JSON.stringify(payload) }).catch((err: unknown) => {
      this.log.debug(`timer invocation failed: ${(err as Error).message}`);
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
    await Promise.all(this.#inFlight);
  }
}
