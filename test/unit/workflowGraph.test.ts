import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../shared/errors';
import { analyseWorkflow, interpolate, workflowSchema, type WorkflowInput } from '../../shared/kinds/workflow/graph';
import { planWorkflow, workflowKind } from '../../shared/kinds/workflow';

const wf = (nodes: unknown[]): WorkflowInput => workflowSchema.parse({ nodes });

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues[0]?.path;
    throw err;
  }
  return undefined;
}

describe('workflow graph checks', () => {
  it('assigns topological levels: a node sits one level below its deepest input', () => {
    const levels = analyseWorkflow(
      wf([
        { id: 'c', type: 'template', template: '{{a}}{{b}}', inputs: ['a', 'b'] },
        { id: 'a', type: 'text', text: 'x' },
        { id: 'b', type: 'llm', prompt: '{{a}}', inputs: ['a'] },
      ]),
    );
    assert.deepEqual(levels, [2, 0, 1]);
  });

  it('names the field of each structural error', () => {
    assert.equal(fieldOf(() => analyseWorkflow(wf([{ id: 'a', type: 'text', text: '' }, { id: 'a', type: 'text', text: '' }]))), 'input.nodes[1].id');
    assert.equal(fieldOf(() => analyseWorkflow(wf([{ id: 'a', type: 'llm', prompt: 'x', inputs: ['ghost'] }]))), 'input.nodes[0].inputs[0]');
    assert.equal(fieldOf(() => analyseWorkflow(wf([{ id: 'a', type: 'llm', prompt: 'x', inputs: ['a'] }]))), 'input.nodes[0].inputs[0]');
    assert.equal(fieldOf(() => analyseWorkflow(wf([{ id: 't', type: 'text', text: '' }, { id: 'a', type: 'template', template: '{{u}}', inputs: ['t'] }]))), 'input.nodes[1].template');
  });

  it('reports a cycle with its path, even behind acyclic nodes', () => {
    const input = wf([
      { id: 'root', type: 'text', text: '' },
      { id: 'x', type: 'template', template: '{{root}}{{z}}', inputs: ['root', 'z'] },
      { id: 'y', type: 'template', template: '{{x}}', inputs: ['x'] },
      { id: 'z', type: 'template', template: '{{y}}', inputs: ['y'] },
      { id: 'tail', type: 'template', template: '{{z}}', inputs: ['z'] },
    ]);
    assert.throws(() => analyseWorkflow(input), (err: Error) => /cycle: (x -> y -> z -> x|y -> z -> x -> y|z -> x -> y -> z)$/.test(err.message));
  });

  it('rejects prompts over 32 KB and more than 200,000 nodes at the schema', () => {
    assert.equal(workflowSchema.safeParse({ nodes: [{ id: 'a', type: 'llm', prompt: 'é'.repeat(16 * 1024 + 1) }] }).success, false);
    assert.equal(workflowSchema.safeParse({ nodes: Array.from({ length: 200_001 }, (_, i) => ({ id: `n${i}`, type: 'text', text: '' })) }).success, false);
  });

  it('interpolates placeholders with or without inner spaces and leaves unknown ones alone', () => {
    assert.equal(interpolate('{{a}} and {{ b }} but {{c}}', new Map([['a', '1'], ['b', '2']])), '1 and 2 but {{c}}');
  });

  it('prices by llm nodes only', () => {
    assert.equal(workflowKind.units(wf([{ id: 'a', type: 'text', text: '' }, { id: 'b', type: 'llm', prompt: '' }, { id: 'c', type: 'template', template: '' }])), 1);
  });
});

describe('workflow planning into chunks', () => {
  it('cuts a long chain into chunks that each wait for the previous one', () => {
    const nodes = Array.from({ length: 1200 }, (_, i) => (i === 0 ? { id: 'n0', type: 'text', text: 's' } : { id: `n${i}`, type: 'template', template: `{{n${i - 1}}}`, inputs: [`n${i - 1}`] }));
    const plan = planWorkflow(wf(nodes));
    assert.deepEqual(plan.chunks.map((c) => c.after), [-1, 0, 1]);
    assert.deepEqual(plan.chunks.map((c) => c.input), [{ from: 0, to: 499 }, { from: 500, to: 999 }, { from: 1000, to: 1199 }]);
  });

  it('lets chunks of one wide level run in parallel and caps llm nodes per chunk', () => {
    const nodes = Array.from({ length: 100 }, (_, i) => ({ id: `n${i}`, type: 'llm', prompt: 'p' }));
    const plan = planWorkflow(wf(nodes));
    assert.deepEqual(plan.chunks.map((c) => c.after), [-1, -1, -1]);
    assert.deepEqual(plan.chunks.map((c) => c.input), [{ from: 0, to: 39 }, { from: 40, to: 79 }, { from: 80, to: 99 }]);
    assert.equal(plan.items?.filter((i) => i.units === 1).length, 100);
  });

  it('orders items level by level and makes a chunk wait only for the chunks holding its inputs', () => {
    const nodes = [
      ...Array.from({ length: 60 }, (_, i) => ({ id: `a${i}`, type: 'llm', prompt: 'p' })),
      { id: 'join', type: 'template', template: '{{a0}}', inputs: ['a0'] },
      { id: 'late', type: 'template', template: '{{a59}}', inputs: ['a59'] },
    ];
    const plan = planWorkflow(wf(nodes));
    // a0..a39 | a40..a59, join, late: the second chunk holds a59 itself and needs a0 from chunk 0.
    assert.deepEqual(plan.chunks.map((c) => c.after), [-1, 0]);
    assert.equal(plan.items?.find((i) => i.key === 'join')?.seq, 60);
    const leaves = plan.items?.filter((i) => (i.input as { leaf?: boolean }).leaf).map((i) => i.key);
    assert.deepEqual(leaves?.slice(0, 2), ['a1', 'a2']);
    assert.ok(leaves?.includes('join') && leaves.includes('late') && !leaves.includes('a0'));
  });
});
