/**
 * Workflow input: schema and graph checks. Errors name the offending field (`nodes[3].inputs[0]`), and a cycle is
 * reported with its path so the user can find it in a graph of 100,000 nodes.
 */
import { z } from 'zod';
import { NonRetriableError, ValidationError } from '../../errors';

// Caps from the seed's largest real graphs, with headroom: beyond them one job would hold a worker for hours.
export const MAX_NODES = 200_000;
export const MAX_PROMPT_BYTES = 32 * 1024;
/**
 * Bound on one node's output (and on an llm node's filled-in prompt). Template placeholders multiply their inputs:
 * without it, 6,500 `{{a}}` over a 32 KB text made a 213 MB string from a 65 KB request. A model's answer is far
 * below it (output tokens cap it); a document assembled by templates stays under it with room to spare.
 */
export const MAX_NODE_OUTPUT_BYTES = 1024 * 1024;
/**
 * Bound on the node outputs one chunk holds in memory: the inputs it reads from earlier chunks plus what it produces.
 * JOB_CHUNK_CONCURRENCY chunks of a job run at once on one worker, so this times that is the job's share of a heap.
 */
export const MAX_CHUNK_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Bound on the node outputs one job stores (what its results endpoint pages through). */
export const MAX_JOB_OUTPUT_BYTES = 256 * 1024 * 1024;

const nodeId = z.string().min(1).max(200).regex(/^[^\s{}]+$/, 'must not contain spaces or braces');
const text32k = z.string().refine((s) => Buffer.byteLength(s) <= MAX_PROMPT_BYTES, `must be at most ${MAX_PROMPT_BYTES} bytes`);

const textNode = z.object({ id: nodeId, type: z.literal('text'), text: text32k });
const templateNode = z.object({ id: nodeId, type: z.literal('template'), template: text32k, inputs: z.array(nodeId).max(100).default([]) });
const llmNode = z.object({
  id: nodeId,
  type: z.literal('llm'),
  prompt: text32k,
  inputs: z.array(nodeId).max(100).default([]),
  model: z.string().min(1).max(200).optional(),
  temperature: z.number().min(0).max(2).optional(),
});

export const workflowSchema = z.object({
  nodes: z.array(z.discriminatedUnion('type', [textNode, templateNode, llmNode])).min(1).max(MAX_NODES),
});

export type WorkflowInput = z.infer<typeof workflowSchema>;
export type WorkflowNode = WorkflowInput['nodes'][number];

const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;

export function nodeInputs(node: WorkflowNode): string[] {
  return node.type === 'text' ? [] : node.inputs;
}

function nodeTemplate(node: WorkflowNode): { field: string; text: string } | undefined {
  if (node.type === 'template') return { field: 'template', text: node.template };
  if (node.type === 'llm') return { field: 'prompt', text: node.prompt };
  return undefined;
}

/** Replaces {{id}} with the outputs of the node's inputs. */
export function interpolate(template: string, outputs: ReadonlyMap<string, string>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => outputs.get(name) ?? whole);
}

/**
 * The UTF-8 size of `interpolate(template, outputs)`, summed from its parts without building it: the bound is
 * checked before a string that may not fit in memory is made. `sizeOf` gives an input's size (measured once).
 */
export function interpolatedBytes(template: string, sizeOf: (name: string) => number | undefined): number {
  let size = 0;
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    size += Buffer.byteLength(template.slice(last, match.index)) + (sizeOf(match[1] ?? '') ?? Buffer.byteLength(match[0]));
    last = match.index + match[0].length;
  }
  return size + Buffer.byteLength(template.slice(last));
}

/** The error of a node whose output (or prompt) would pass MAX_NODE_OUTPUT_BYTES: bad input, never retried. */
export class OutputTooLargeError extends NonRetriableError {
  override name = 'OutputTooLargeError';
}

/**
 * Fills a template (or prompt) after checking that the result fits MAX_NODE_OUTPUT_BYTES and, with `reserve`, the
 * caller's own bounds (which throw to refuse); throws OutputTooLargeError.
 */
export function interpolateBounded(node: string, what: 'output' | 'prompt', template: string, outputs: ReadonlyMap<string, string>, reserve?: (bytes: number) => void): string {
  const sizes = new Map<string, number>();
  const size = interpolatedBytes(template, (name) => {
    const output = outputs.get(name);
    if (output === undefined) return undefined;
    let bytes = sizes.get(name);
    if (bytes === undefined) sizes.set(name, (bytes = Buffer.byteLength(output)));
    return bytes;
  });
  if (size > MAX_NODE_OUTPUT_BYTES) throw new OutputTooLargeError(`node "${node}": its ${what} would be ${size} bytes, over the limit of ${MAX_NODE_OUTPUT_BYTES} bytes per node`);
  reserve?.(size);
  return interpolate(template, outputs);
}

/**
 * Checks ids, references, placeholders and acyclicity, and returns each node's topological level (0 = no inputs)
 * in input order.
 */
export function analyseWorkflow(input: WorkflowInput): number[] {
  const { nodes } = input;
  const index = new Map<string, number>();
  nodes.forEach((node, i) => {
    const first = index.get(node.id);
    if (first !== undefined) throw fieldError(`nodes[${i}].id`, `duplicate id "${node.id}" (first used by nodes[${first}])`);
    index.set(node.id, i);
  });
  const indegree = new Array<number>(nodes.length).fill(0);
  const dependents: number[][] = nodes.map(() => []);
  nodes.forEach((node, i) => {
    const inputs = nodeInputs(node);
    const declared = new Set(inputs);
    inputs.forEach((ref, j) => {
      const from = index.get(ref);
      if (from === undefined) throw fieldError(`nodes[${i}].inputs[${j}]`, `unknown node "${ref}"`);
      if (from === i) throw fieldError(`nodes[${i}].inputs[${j}]`, `node "${node.id}" cannot be its own input`);
      indegree[i]! += 1;
      dependents[from]!.push(i);
    });
    const template = nodeTemplate(node);
    if (template) {
      for (const match of template.text.matchAll(PLACEHOLDER)) {
        const name = match[1] ?? '';
        if (!declared.has(name)) throw fieldError(`nodes[${i}].${template.field}`, `placeholder {{${name}}} is not one of the node's inputs`);
      }
    }
  });
  // Kahn's algorithm: whatever is left with a positive in-degree lies on or behind a cycle.
  const level = new Array<number>(nodes.length).fill(0);
  const queue: number[] = [];
  indegree.forEach((d, i) => d === 0 && queue.push(i));
  let seen = 0;
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head]!;
    seen++;
    for (const j of dependents[i]!) {
      level[j] = Math.max(level[j]!, level[i]! + 1);
      if (--indegree[j]! === 0) queue.push(j);
    }
  }
  if (seen < nodes.length) throw fieldError('nodes', `the graph has a cycle: ${describeCycle(input, indegree)}`);
  checkOutputSizes(input, queue);
  return level;
}

/**
 * Refuses at submission what is certain to pass the output bounds: text and template sizes are known before anything
 * runs (an llm node counts as an empty answer), so a template amplifying its inputs past MAX_NODE_OUTPUT_BYTES, or
 * outputs summing past MAX_JOB_OUTPUT_BYTES, are 400s instead of failed jobs.
 */
function checkOutputSizes(input: WorkflowInput, order: readonly number[]): void {
  const least = new Map<string, number>();
  let total = 0;
  for (const i of order) {
    const node = input.nodes[i]!;
    const template = nodeTemplate(node);
    const size = template ? interpolatedBytes(template.text, (name) => least.get(name)) : Buffer.byteLength(node.type === 'text' ? node.text : '');
    if (size > MAX_NODE_OUTPUT_BYTES) {
      const what = node.type === 'llm' ? 'prompt' : 'output';
      throw fieldError(`nodes[${i}].${template?.field ?? 'text'}`, `the filled-in ${what} would be at least ${size} bytes, over the limit of ${MAX_NODE_OUTPUT_BYTES} bytes per node`);
    }
    const output = node.type === 'llm' ? 0 : size;
    least.set(node.id, output);
    total += output;
    if (total > MAX_JOB_OUTPUT_BYTES) throw fieldError('nodes', `the node outputs would be at least ${total} bytes by nodes[${i}], over the limit of ${MAX_JOB_OUTPUT_BYTES} bytes per job`);
  }
}

function describeCycle(input: WorkflowInput, indegree: number[]): string {
  const { nodes } = input;
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  // Walk backwards through inputs that are still blocked until a node repeats: that loop is a cycle.
  let current = indegree.findIndex((d) => d > 0);
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  while (!seenAt.has(current)) {
    seenAt.set(current, path.length);
    path.push(current);
    const next = nodeInputs(nodes[current]!).map((ref) => index.get(ref)!).find((j) => indegree[j]! > 0);
    if (next === undefined) break;
    current = next;
  }
  const cycle = path.slice(seenAt.get(current) ?? 0).reverse();
  return [...cycle, cycle[0]!].map((i) => nodes[i]!.id).join(' -> ');
}

function fieldError(field: string, message: string): ValidationError {
  const path = `input.${field}`;
  return new ValidationError(`${path}: ${message}`, [{ path, message }]);
}
