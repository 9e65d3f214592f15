/**
 * Kind `workflow`: a DAG of text, template and llm nodes. Planned as one stage whose chunks are runs of nodes in
 * topological order; a chunk waits only for the chunks holding its nodes' inputs, so wide levels run in parallel and
 * long chains run as few, large activities. Node outputs are items (paged by the results endpoint).
 */
import type { Queryable } from '../../db';
import type { ChunkContext, ChunkOutcome, ChunkRecord, JobKind, JobRecord, PlannedChunk, PlannedItem, StagePlan } from '../types';
import { analyseWorkflow, interpolate, nodeInputs, workflowSchema, type WorkflowInput, type WorkflowNode } from './graph';
import { runNodes } from './runNodes';

// A chunk closes at whichever comes first: enough model calls to use the worker's concurrency for a while, or
// enough free nodes that the activity round trip stays a small share of the work.
const CHUNK_MAX_NODES = 500;
const CHUNK_MAX_LLM_NODES = 40;
// Leaf outputs copied into the job result, so small workflows need no second request.
const RESULT_LEAF_OUTPUTS = 20;

interface ChunkInput {
  from: number;
  to: number;
}

/** What an item row keeps of its node (the node itself, plus whether it is a leaf). */
type StoredNode = WorkflowNode & { leaf?: true };

export function planWorkflow(input: WorkflowInput): StagePlan {
  const levels = analyseWorkflow(input);
  const order = input.nodes.map((_, i) => i).sort((a, b) => levels[a]! - levels[b]! || a - b);
  const hasDependents = new Set(input.nodes.flatMap((n) => nodeInputs(n)));
  const chunkOf = new Map<string, number>();
  const chunks: PlannedChunk[] = [];
  const items: PlannedItem[] = [];
  let start = 0;
  let llm = 0;
  let after = -1;
  const close = (end: number): void => {
    chunks.push({ input: { from: start, to: end } satisfies ChunkInput, after });
    start = end + 1;
    llm = 0;
    after = -1;
  };
  order.forEach((nodeIndex, seq) => {
    const node = input.nodes[nodeIndex]!;
    if (seq > start && (seq - start >= CHUNK_MAX_NODES || (node.type === 'llm' && llm >= CHUNK_MAX_LLM_NODES))) close(seq - 1);
    const current = chunks.length;
    for (const ref of nodeInputs(node)) {
      const c = chunkOf.get(ref);
      if (c !== undefined && c < current) after = Math.max(after, c);
    }
    chunkOf.set(node.id, current);
    if (node.type === 'llm') llm++;
    const stored: StoredNode = hasDependents.has(node.id) ? node : { ...node, leaf: true };
    items.push({ key: node.id, seq, input: stored, units: node.type === 'llm' ? 1 : 0 });
  });
  close(order.length - 1);
  return { name: 'nodes', chunks, items };
}

async function runWorkflowChunk(ctx: ChunkContext, chunk: ChunkRecord): Promise<ChunkOutcome> {
  const { from, to } = chunk.input as ChunkInput;
  const rows = await ctx.db.query<{ key: string; input: StoredNode; status: string; output: string | null }>(
    'select key, input, status, output from longhaul.job_items where job_id = $1 and seq between $2 and $3 order by seq',
    [ctx.job.id, from, to],
  );
  const inChunk = new Set(rows.rows.map((r) => r.key));
  const outside = [...new Set(rows.rows.flatMap((r) => nodeInputs(r.input)).filter((k) => !inChunk.has(k)))];
  const deps = outside.length
    ? (await ctx.db.query<{ key: string; status: string; output: string | null }>('select key, status, output from longhaul.job_items where job_id = $1 and key = any($2)', [ctx.job.id, outside])).rows
    : [];
  const known = new Map<string, string>();
  for (const r of [...deps, ...rows.rows]) if (r.status === 'done') known.set(r.key, r.output ?? '');
  const blocked = deps.find((d) => d.status !== 'done');
  if (blocked) return { status: 'failed', error: { message: `input node "${blocked.key}" is ${blocked.status}`, key: blocked.key } };

  return runNodes(ctx, rows.rows.filter((r) => r.status !== 'done').map((r) => r.input), known, async (node, inputs) => {
    if (node.type === 'text') return { output: node.text };
    if (node.type === 'template') return { output: interpolate(node.template, inputs) };
    const result = await ctx.ai.text.generate({ prompt: interpolate(node.prompt, inputs), model: node.model, temperature: node.temperature });
    return { output: result.text, usage: result.usage, model: `${result.provider}:${result.model}` };
  });
}

async function markDownstreamSkipped(db: Queryable, job: JobRecord): Promise<void> {
  const { rows } = await db.query<{ key: string; status: string; inputs: string[] | null }>(
    "select key, status, array(select jsonb_array_elements_text(input -> 'inputs')) as inputs from longhaul.job_items where job_id = $1",
    [job.id],
  );
  const dependents = new Map<string, string[]>();
  for (const r of rows) for (const ref of r.inputs ?? []) dependents.set(ref, [...(dependents.get(ref) ?? []), r.key]);
  const status = new Map(rows.map((r) => [r.key, r.status]));
  const skipped = new Map<string, string>();
  const queue = rows.filter((r) => r.status === 'failed').map((r) => [r.key, r.key] as const);
  for (let head = 0; head < queue.length; head++) {
    const [key, cause] = queue[head]!;
    for (const next of dependents.get(key) ?? []) {
      if (skipped.has(next) || status.get(next) !== 'pending') continue;
      skipped.set(next, cause);
      queue.push([next, cause]);
    }
  }
  if (skipped.size === 0) return;
  await db.query(
    `update longhaul.job_items i set status = 'skipped', error = jsonb_build_object('message', 'not run: upstream node "' || s.cause || '" failed'), updated_at = now()
     from unnest($2::text[], $3::text[]) as s(key, cause)
     where i.job_id = $1 and i.key = s.key and i.status = 'pending'`,
    [job.id, [...skipped.keys()], [...skipped.values()]],
  );
}

export const workflowKind: JobKind<WorkflowInput> = {
  name: 'workflow',
  schema: workflowSchema,
  check: (input) => void analyseWorkflow(input),
  units: (input) => input.nodes.filter((n) => n.type === 'llm').length,
  async planStage(ctx, _job, input) {
    return ctx.stage === 0 ? planWorkflow(input) : null;
  },
  runChunk: runWorkflowChunk,
  async finish(db, job) {
    const counts = await db.query<{ status: string; n: string }>('select status, count(*) as n from longhaul.job_items where job_id = $1 group by status', [job.id]);
    const byStatus = Object.fromEntries(counts.rows.map((r) => [r.status, Number(r.n)]));
    const leaves = await db.query<{ key: string; output: string | null }>(
      "select key, output from longhaul.job_items where job_id = $1 and (input ->> 'leaf') = 'true' order by seq limit $2",
      [job.id, RESULT_LEAF_OUTPUTS],
    );
    return {
      nodes: Object.values(byStatus).reduce((a, b) => a + b, 0),
      completed: byStatus.done ?? 0,
      failed: byStatus.failed ?? 0,
      skipped: byStatus.skipped ?? 0,
      outputs: Object.fromEntries(leaves.rows.map((r) => [r.key, r.output])),
    };
  },
  onFailed: markDownstreamSkipped,
  formatItem: (item) => ({ nodeId: item.key, status: item.status, output: item.output, error: item.error }),
};

