/** The job error a user reads (shared/jobs/publicError.ts): messages only, never stacks, server paths or configuration detail. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MISCONFIGURED_MESSAGE, publicJobError } from '../../shared/jobs/publicError';

const STACK = 'Error: connect ECONNREFUSED\n    at TCPConnectWrap.afterConnect (node:net:1607:16)\n    at runChunk (/home/site/wwwroot/dist/shared/engine/activities.js:212:9)';
// How Durable hands an activity failure to the orchestration: Reason, then the serialised exception.
const durable = (name: string, message: string, stack: string): string => `Activity function '${name}' failed: ${message} \n ${JSON.stringify({ Message: message, StackTrace: stack })}`;

describe('publicJobError', () => {
  it('a chunk whose activity kept throwing: the message, without Durable\'s wrapping, the stack or paths', () => {
    const error = publicJobError({ message: `a chunk of stage "nodes" failed after retries: ${durable('runChunk', "ENOENT: open '/tmp/longhaul-9/seg-3.flac'", STACK)}`, code: 'chunk_failed' });
    assert.deepEqual(error, { message: `a chunk of stage "nodes" failed after retries: ENOENT: open '<path>'`, code: 'chunk_failed' });
  });

  it('a ConfigError, in Durable\'s text, the Functions host\'s or as a failure type, is "misconfigured" and nothing more', () => {
    const config = 'ConfigError: Setting OPENAI_API_KEY is missing: AI_PROVIDER=openai needs it\n    at buildServices (/srv/app/dist/shared/ai/index.js:73:15)';
    for (const message of [
      durable('planStage', 'Setting OPENAI_API_KEY is missing: AI_PROVIDER=openai needs it', config),
      "Activity function 'runChunk' failed: Result: Failure\nException: ConfigError: Setting GEMINI_API_KEY is missing\nStack: ConfigError: Setting GEMINI_API_KEY is missing\n    at x (C:\\home\\site\\wwwroot\\dist\\a.js:1:1)",
      'ConfigError: Setting AzureWebJobsStorage is needed to store job files',
    ]) {
      assert.deepEqual(publicJobError({ message, code: 'orchestration_error' }), { message: MISCONFIGURED_MESSAGE, code: 'misconfigured' }, message);
    }
  });

  it('keeps what users need: a provider\'s message, the node key, URLs and storage:// paths, invalid-input issues', () => {
    assert.deepEqual(publicJobError({ message: 'node "a/b" failed: 400 see https://api.x.test/v1/chat for storage://recordings/u/f.flac', code: 'non_retriable', key: 'a/b' }), {
      message: 'node "a/b" failed: 400 see https://api.x.test/v1/chat for storage://recordings/u/f.flac',
      code: 'non_retriable',
      key: 'a/b',
    });
    const issues = Array.from({ length: 25 }, (_, i) => ({ path: `input.nodes[${i}].id`, message: 'Required', extra: 'dropped' }));
    const invalid = publicJobError({ message: 'input.nodes[0].id: Required', code: 'invalid_input', details: { issues, secret: 'dropped' } });
    assert.equal(invalid.code, 'invalid_input');
    assert.deepEqual(invalid.details, { issues: issues.slice(0, 20).map(({ path, message }) => ({ path, message })), moreIssues: 5 });
  });

  it('anything else: a bare stack, a string, an unknown code or shape', () => {
    assert.deepEqual(publicJobError({ message: STACK }), { message: 'Error: connect ECONNREFUSED' });
    assert.deepEqual(publicJobError('boom'), { message: 'the job failed' });
    assert.deepEqual(publicJobError({ message: 'x', code: 'Weird Code <b>', stack: STACK }), { message: 'x' });
    assert.ok(publicJobError({ message: 'y'.repeat(50_000) }).message.length <= 1000);
  });
});
