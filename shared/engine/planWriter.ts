/** Writes a planned stage (its chunks and items) once: a second planner of the same stage finds it done and reuses it. */
import type { Pool } from 'pg';
import type { StagePlan } from '../kinds/types';
import { inTransaction } from '../db';

// Rows per INSERT: large enough to make 100,000 items a few statements, small enough to keep each under ~10 MB.
const BATCH = 20_000;

export async function writeStagePlan(db: Pool, jobId: string, stage: number, plan: StagePlan): Promise<{ name: string; chunks: number }> {
  return inTransaction(db, async (client) => {
    const claimed = await client.query(
      'insert into longhaul.job_stages (job_id, stage, name, chunk_count, item_count) values ($1, $2, $3, $4, $5) on conflict do nothing returning stage',
      [jobId, stage, plan.name, plan.chunks.length, plan.items?.length ?? 0],
    );
    if (claimed.rowCount === 0) {
      const existing = await client.query<{ name: string; chunk_count: number }>('select name, chunk_count from longhaul.job_stages where job_id = $1 and stage = $2', [jobId, stage]);
      return { name: existing.rows[0]!.name, chunks: existing.rows[0]!.chunk_count };
    }
    const items = plan.items ?? [];
    for (let i = 0; i < items.length; i += BATCH) {
      const batch = items.slice(i, i + BATCH).map((it) => ({ key: it.key, seq: it.seq, input: it.input ?? null, units: it.units ?? 0 }));
      await client.query(
        `insert into longhaul.job_items (job_id, key, seq, input, units)
         select $1, x.key, x.seq, x.input, x.units from jsonb_to_recordset($2::jsonb) as x(key text, seq bigint, input jsonb, units integer)`,
        [jobId, JSON.stringify(batch)],
      );
    }
    for (let i = 0; i < plan.chunks.length; i += BATCH) {
      const batch = plan.chunks.slice(i, i + BATCH).map((c, n) => ({ idx: i + n, after: c.after ?? -1, input: c.input ?? null, units: c.units ?? 0 }));
      await client.query(
        `insert into longhaul.job_chunks (job_id, stage, idx, after, input, units)
         select $1, $2, x.idx, x.after, x.input, x.units from jsonb_to_recordset($3::jsonb) as x(idx integer, after integer, input jsonb, units bigint)`,
        [jobId, stage, JSON.stringify(batch)],
      );
    }
    await client.query('select longhaul.add_items_total($1, $2)', [jobId, plan.progressItems ?? (items.length || plan.chunks.length)]);
    await client.query('select longhaul.write_progress($1, $2, null, true)', [jobId, plan.name]);
    return { name: plan.name, chunks: plan.chunks.length };
  });
}
