/**
 * Chaos (slow, `npm run test:chaos`): 1,000 submissions at once through POST /api/jobs, as users do, from 20 users.
 * All are accepted, all complete, and every user's balance is exactly what the ledger says.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertLedgerConsistent, waitAllFinished } from '../support/chaos';
import { startJobsApp, type JobsApp, type TestUser } from '../support/jobsApp';

const SUBMISSIONS = 1000;
const USERS = 20;
const CREDITS = 200;

describe('chaos: 1,000 concurrent submissions', () => {
  let app: JobsApp;
  before(async () => {
    app = await startJobsApp({ name: 'chaos_thousand' });
  });
  after(async () => {
    await app?.stop();
  });

  it(`${SUBMISSIONS} POST /api/jobs at once from ${USERS} users: ${SUBMISSIONS} accepted, ${SUBMISSIONS} completed, ledgers consistent`, async () => {
    const users: TestUser[] = [];
    for (let i = 0; i < USERS; i++) users.push(await app.createUser(CREDITS));
    const started = Date.now();
    // Each job: one text node and two llm nodes on the offline model (2 credits).
    const answers = await Promise.all(
      Array.from({ length: SUBMISSIONS }, (_, i) =>
        app.api<{ id: string; creditsCharged: number }>('POST', '/api/jobs', users[i % USERS]!, {
          kind: 'workflow',
          input: { nodes: [{ id: 't', type: 'text', text: `job ${i}` }, { id: 'a', type: 'llm', prompt: 'Summarise {{t}}', inputs: ['t'] }, { id: 'b', type: 'llm', prompt: 'Title {{t}}', inputs: ['t'] }] },
        }),
      ),
    );
    const accepted = Date.now() - started;
    const statuses = answers.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }), {});
    assert.deepEqual(statuses, { 202: SUBMISSIONS }, 'every submission accepted');
    const ids = answers.map((a) => a.body.id);
    assert.equal(new Set(ids).size, SUBMISSIONS, 'distinct jobs');
    const counts = await waitAllFinished(app.pool, ids, 480_000);
    console.log(`[chaos] thousand: ${SUBMISSIONS} accepted in ${accepted} ms, all finished in ${Date.now() - started} ms: ${JSON.stringify(counts)}`);
    assert.deepEqual(counts, { completed: SUBMISSIONS });
    await assertLedgerConsistent(app.pool, ids);
    const balances = await app.pool.query<{ balance: string }>('select balance from public.credit_accounts where user_id = any($1::uuid[])', [users.map((u) => u.id)]);
    assert.deepEqual(balances.rows.map((r) => Number(r.balance)), Array(USERS).fill(CREDITS - (SUBMISSIONS / USERS) * 2), 'each user paid 2 credits per job');
  });
});
