/**
 * Kind `workflow`: a DAG of text, template and llm nodes. Planned as one stage whose chunks are runs of nodes in
 * topological order; a chunk waits only for the chunks holding its nodes' inputs, so wide levels run in parallel and
 * long chains run as few, large activities. Node outputs are items (paged by the results endpoint).
 */
import type { Queryable } from '../../db';
import type { ChunkContext, ChunkOutcome, ChunkRecord, JobKind, JobRecord, PlannedChunk, PlannedItem, StagePlan } from '../types';
import { analyseWorkflow, interpolateBounded, MAX_CHUNK_OUTPUT_BYTES, MAX_JOB_OUTPUT_BYTES, MAX_NODE_OUTPUT_BYTES, nodeInputs, OutputTooLargeError, workflowSchema, type WorkflowInput, type WorkflowNode } from './graph';
import { runNodes } from './runNodes';

// A chunk closes at whichever comes first: enough model calls to use the worker's concurrency for a while, or
// enough free nodes that the activity round trip stays a small share of the work.
const CHUNK_MAX_NODES = 500;
const CHUNK_MAX_LLM_NODES = 40;
// Leaf outputs copied into the job result, so small workflows need no second request.
const RESULT_LEAF_OUTPUTS = 20;
// ... while together they stay this small: every poll of the job (API, dashboard) returns them.
const RESULT_OUTPUT_BYTES = 1024 * 1024;

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
  // Sizes first: the inputs from earlier chunks are loaded only when they fit the chunk's bound.
  const sizes = await ctx.db.query<{ outside: string; job: string }>(
    `select (select coalesce(sum(octet_length(output #>> '{}')), 0) from longhaul.job_items where job_id = $1 and key = any($2)) as outside,
            (select coalesce(sum((output ->> 'outputBytes')::bigint), 0) from longhaul.job_chunks where job_id = $1 and stage = $3 and idx <> $4 and status = 'done') as job`,
    [ctx.job.id, outside, chunk.stage, chunk.index],
  );
  const budget = new OutputBudget(Number(sizes.rows[0]?.job ?? 0), `nodes ${from}..${to}`);
  const own = rows.rows.reduce((sum, r) => sum + (r.status === 'done' ? Buffer.byteLength(r.output ?? '') : 0), 0);
  const held = Number(sizes.rows[0]?.outside ?? 0) + own;
  if (held > MAX_CHUNK_OUTPUT_BYTES) {
    return { status: 'failed', error: { message: `nodes ${from}..${to} of the workflow read ${held} bytes of node outputs, over the limit of ${MAX_CHUNK_OUTPUT_BYTES} bytes per chunk`, code: 'output_too_large' } };
  }
  budget.held = held;
  budget.own = own;
  const deps = outside.length
    ? (await ctx.db.query<{ key: string; status: string; output: string | null }>('select key, status, output from longhaul.job_items where job_id = $1 and key = any($2)', [ctx.job.id, outside])).rows
    : [];
  const known = new Map<string, string>();
  for (const r of [...deps, ...rows.rows]) if (r.status === 'done') known.set(r.key, r.output ?? '');
  const blocked = deps.find((d) => d.status !== 'done');
  if (blocked) return { status: 'failed', error: { message: `input node "${blocked.key}" is ${blocked.status}`, key: blocked.key } };

  const outcome = await runNodes(ctx, rows.rows.filter((r) => r.status !== 'done').map((r) => r.input), known, async (node, inputs) => {
    if (node.type === 'text') {
      budget.reserve(node.id, Buffer.byteLength(node.text));
      return { output: node.text };
    }
    if (node.type === 'template') return { output: interpolateBounded(node.id, 'output', node.template, inputs, (bytes) => budget.reserve(node.id, bytes)) };
    const result = await ctx.ai.text.generate({ prompt: interpolateBounded(node.id, 'prompt', node.prompt, inputs), model: node.model, temperature: node.temperature });
    budget.reserve(node.id, Buffer.byteLength(result.text));
    return { output: result.text, usage: result.usage, model: `${result.provider}:${result.model}` };
  });
  // What this chunk stores, summed by later chunks into the job's total.
  return outcome.status === 'done' ? { ...outcome, output: { outputBytes: budget.own } } : outcome;
}

/**
 * The output bounds of one chunk at run time: every node's output is counted before it is kept (a template's before
 * it is built) against the chunk's bound and the job's. The job's total counts chunks already done; the chunks in
 * flight beside this one (at most JOB_CHUNK_CONCURRENCY) are not seen, so a job may pass its bound by that many chunks.
 */
class OutputBudget {
  held = 0;
  own = 0;
  constructor(
    private job: number,
    private readonly chunk: string,
  ) {}

  reserve(node: string, bytes: number): void {
    if (bytes > MAX_NODE_OUTPUT_BYTES) throw new OutputTooLargeError(`node "${node}": its output would be ${bytes} bytes, over the limit of ${MAX_NODE_OUTPUT_BYTES} bytes per node`);
    if (this.held + bytes > MAX_CHUNK_OUTPUT_BYTES) {
      throw new OutputTooLargeError(`node "${node}": ${this.chunk} of the workflow would hold more than ${MAX_CHUNK_OUTPUT_BYTES} bytes of node outputs (the limit per chunk)`);
    }
    if (this.job + this.own + bytes > MAX_JOB_OUTPUT_BYTES) throw new OutputTooLargeError(`node "${node}": the job's node outputs would pass the limit of ${MAX_JOB_OUTPUT_BYTES} bytes per job`);
    this.held += bytes;
    this.own += bytes;
  }
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
      `select key, output from (
         select key, output, seq, coalesce(sum(octet_length(output #>> '{}')) over (order by seq), 0) as upto
         from longhaul.job_items where job_id = $1 and (input ->> 'leaf') = 'true' order by seq limit $2) l
       where upto <= $3 order by seq`,
      [job.id, RESULT_LEAF_OUTPUTS, RESULT_OUTPUT_BYTES],
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

