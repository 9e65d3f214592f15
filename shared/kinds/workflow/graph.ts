/**
 * Workflow input: schema and graph checks. Errors name the offending field (`nodes[3].inputs[0]`), and a cycle is
 * reported with its path so the user can find it in a graph of 100,000 nodes.
 */
import { z } from 'zod';
import { ValidationError } from '../../errors';

// Caps from the seed's largest real graphs, with headroom: beyond them one job would hold a worker for hours.
export const MAX_NODES = 200_000;
export const MAX_PROMPT_BYTES = 32 * 1024;

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
  return level;
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
