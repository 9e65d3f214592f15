/**
 * Host liveness through Postgres: every host holds a session advisory lock (class HOST_LOCK_CLASS, id = host id) on a
 * dedicated connection, which also LISTENs for work notifications. When a host dies — even by kill -9 — its
 * connection drops, Postgres releases the lock, and any host can reclaim the activities it had claimed at once,
 * without waiting for a lease to expire.
 */
import { randomInt } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { HOST_LOCK_CLASS } from './schema';
import { sleep } from './signal';
import type { HostLogger } from '../host/logger';

export class HostLiveness {
  hostId = 0;
  #client: Client | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #ready: Promise<void>;
  #markReady: () => void = () => undefined;

  constructor(
    private readonly connectionString: string,
    private readonly onNotify: (payload: string) => void,
    private readonly log: HostLogger,
  ) {
    this.#ready = new Promise((resolve) => (this.#markReady = resolve));
  }

  /** Connects, takes a host id and starts listening; resolves once the first connection is up. */
  async start(): Promise<void> {
    this.#running = true;
    this.#loop = this.#maintain();
    await this.#ready;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#client?.end().catch(() => undefined);
    await this.#loop;
  }

  async #maintain(): Promise<void> {
    let attempt = 0;
    while (this.#running) {
      const client = new Client({ connectionString: this.connectionString });
      // `on`, not `once`: a server shutdown makes pg emit 'error' twice (the FATAL 57P01 message, then the broken
      // socket), and an 'error' without a listener would end the host process.
      const closed = new Promise<void>((resolve) => {
        client.on('error', () => resolve());
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        await this.#lock(client);
        client.on('notification', (msg) => this.onNotify(msg.payload ?? ''));
        await client.query('listen durabletask');
        this.#client = client;
        attempt = 0;
        this.#markReady();
        // Work may have been announced while disconnected.
        this.onNotify('o');
        this.onNotify('a');
        await closed;
        if (this.#running) this.log.warn('lost the database connection that holds host liveness; reconnecting');
      } catch (err) {
        if (this.#running) this.log.warn(`host liveness connection failed: ${(err as Error).message}`);
        await client.end().catch(() => undefined);
      }
      if (this.#running) await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt++, 5)));
    }
  }

  async #lock(client: Client): Promise<void> {
    // Keep the same id across reconnects when possible, so claims made before a blip stay ours.
    for (let tries = 0; tries < 20; tries++) {
      const id = this.hostId || randomInt(1, 2 ** 31 - 1);
      const result = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [HOST_LOCK_CLASS, id]);
      if (result.rows[0]?.ok) {
        this.hostId = id;
        return;
      }
      this.hostId = 0;
    }
    throw new Error('could not take a host id');
  }
}

/** Releases activities claimed by hosts that are no longer alive; returns how many were released. */
export async function reclaimOrphanedActivities(pool: Pool): Promise<number> {
  const result = await pool.query(
    `with alive as (
       select objid::int as id from pg_locks
       where locktype = 'advisory' and classid = $1 and objsubid = 2 and granted
         and database = (select oid from pg_database where datname = current_database()))
     update durabletask.activities set owner = null, claim = null, claimed_at = null
     where owner is not null and owner not in (select id from alive)`,
    [HOST_LOCK_CLASS],
  );
  if ((result.rowCount ?? 0) > 0) await pool.query(`select pg_notify('durabletask', 'a:')`);
  return result.rowCount ?? 0;
}
