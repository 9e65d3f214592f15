/** The workflow kind on every configured provider: the same job through each official SDK against its wire fake. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startJobsApp } from '../support/jobsApp';
import { startAiFake, type AiFake } from '../support/aiFake';

describe('workflow llm nodes on each provider', () => {
  let fake: AiFake;
  before(async () => {
    fake = await startAiFake();
  });
  after(async () => {
    await fake?.close();
  });

  const configs: Record<string, (f: AiFake) => Record<string, string>> = {
    gemini: (f) => ({ GEMINI_API_KEY: 'gem-test', GEMINI_BASE_URL: f.url, GEMINI_MODEL: 'gemini-test' }),
    openai: (f) => ({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: f.openaiBaseUrl, OPENAI_MODEL: 'gpt-test' }),
    'azure-openai': (f) => ({ AZURE_OPENAI_API_KEY: 'az-test', AZURE_OPENAI_ENDPOINT: f.url, AZURE_OPENAI_TEXT_DEPLOYMENT: 'my-gpt' }),
    anthropic: (f) => ({ ANTHROPIC_API_KEY: 'ant-test', ANTHROPIC_BASE_URL: f.url, ANTHROPIC_MODEL: 'claude-test' }),
  };

  for (const [provider, env] of Object.entries(configs)) {
    it(`AI_PROVIDER=auto with only ${provider} configured runs the workflow on ${provider}`, async () => {
      const app = await startJobsApp({ name: `wf_${provider.replace('-', '_')}`, env: { AI_PROVIDER: 'auto', ...env(fake) } });
      try {
        const user = await app.createUser(10);
        const input = {
          nodes: [
            { id: 'topic', type: 'text', text: 'kelp' },
            { id: 'idea', type: 'llm', prompt: `${provider}: one idea about {{topic}}`, inputs: ['topic'], temperature: 0 },
            { id: 'out', type: 'template', template: '>> {{idea}}', inputs: ['idea'] },
          ],
        };
        const res = await app.api<{ id: string }>('POST', '/api/jobs', user, { kind: 'workflow', input });
        const job = await app.waitForStatus(res.body.id, ['completed', 'failed']);
        assert.equal(job.status, 'completed', JSON.stringify(job.error));
        assert.equal((job.result as { outputs: Record<string, string> }).outputs.out, `>> fake ${provider} answer to: ${provider}: one idea about kelp`);
        assert.deepEqual(Object.keys(job.usage as object).sort(), ['inputTokens', 'outputTokens', 'requests']);
        assert.ok(fake.requests.some((r) => r.provider === provider && r.prompt === `${provider}: one idea about kelp`));
        const byKind = await app.pool.query<{ requests: string }>("select requests from public.job_usage_by_kind where kind = 'workflow'");
        assert.equal(Number(byKind.rows[0]?.requests), 1, 'usage per kind counts the call');
      } finally {
        await app.stop();
      }
    });
  }
});
