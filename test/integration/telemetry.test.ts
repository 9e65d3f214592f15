/**
 * Telemetry on the real app: a host started with the console exporters prints the spans and metrics of a job
 * (chunk spans with the job's ids, chunk latency, jobs started/completed), and its logs carry job, attempt and
 * invocation ids.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueClient } from '@azure/storage-queue';
import { testStorageConnectionString } from '../support/database';
import { eventually } from '../support/hostProcess';
import { llmNodes, startJobsApp, type JobBody, type JobsApp } from '../support/jobsApp';

describe('OpenTelemetry with the console exporters', () => {
  let app: JobsApp;
  before(async () => {
    app = await startJobsApp({
      name: 'telemetry',
      env: { OTEL_TRACES_EXPORTER: 'console', OTEL_METRICS_EXPORTER: 'console', OTEL_METRIC_EXPORT_INTERVAL: '500', LONGHAUL_LOG_LEVEL: 'info' },
    });
  });
  after(async () => {
    await app?.stop();
  });

  it('prints chunk spans, chunk latency and the jobs counters of a job; logs carry jobId, attempt and invocationId', async () => {
    const user = await app.createUser(100);
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(3, 'otel') });
    assert.equal(res.status, 202);
    const id = res.body.id;
    assert.equal((await app.waitForStatus(id, ['completed', 'failed'])).status, 'completed');

    // ConsoleSpanExporter prints each span as an object: name, attributes (with the job's id), duration.
    const span = await eventually(async () => {
      const out = app.host.output();
      const at = out.indexOf(`'longhaul.job_id': '${id}'`);
      return at >= 0 ? out.slice(Math.max(0, at - 2000), at + 1000) : undefined;
    }, 10_000, 'a span of the job');
    assert.match(span, /name: 'longhaul\.runChunk'/);
    assert.match(span, /'longhaul\.attempt': 1/);
    assert.match(span, /'longhaul\.kind': 'workflow'/);

    // ConsoleMetricExporter prints every instrument each interval; wait for an export after the job completed.
    const metricsOut = await eventually(async () => {
      const out = app.host.output();
      return /name: 'longhaul\.jobs\.completed'/.test(out) && /name: 'longhaul\.chunk\.duration'/.test(out) ? out : undefined;
    }, 10_000, 'the job metrics');
    const completed = metricsOut.slice(metricsOut.lastIndexOf("name: 'longhaul.jobs.completed'"));
    assert.match(completed.slice(0, 1500), /value: 1\b/, 'jobs completed counter = 1');
    const chunk = metricsOut.slice(metricsOut.lastIndexOf("name: 'longhaul.chunk.duration'"));
    assert.match(chunk.slice(0, 2000), /count: [1-9]/, 'chunk latency histogram has samples');
    assert.match(metricsOut, /name: 'longhaul\.jobs\.started'/);

    // Structured logs: the activities log with the invocation's ids.
    const finished = metricsOut.split('\n').find((line) => line.includes('job finished') && line.includes(`jobId=${id}`));
    // A completed job is finished by the last planStage (no stage left), in that activity's invocation.
    assert.ok(finished, 'the job finished was logged');
    assert.match(finished, /attempt=1/);
    assert.match(finished, /invocationId=[0-9a-f-]{36}/);
    assert.match(finished, /functionName=planStage/);
  });
});

describe('the jobs-failed counter', () => {
  let app: JobsApp;
  before(async () => {
    // The queue function is off, so the job waits `queued` until its poison deliveries fail it.
    app = await startJobsApp({
      name: 'telemetry_failed',
      env: { 'AzureWebJobs.jobsQueue.Disabled': 'true', OTEL_METRICS_EXPORTER: 'console', OTEL_METRIC_EXPORT_INTERVAL: '500', LONGHAUL_LOG_LEVEL: 'error' },
    });
  });
  after(async () => {
    await app?.stop();
  });

  it('counts a job failed by a poison delivery once, however often the delivery arrives', async () => {
    const user = await app.createUser(10);
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(2, 'poisoned') });
    assert.equal(res.status, 202);
    await app.waitForStatus(res.body.id, ['queued']);
    const poison = new QueueClient(testStorageConnectionString(), `${app.queueName}-poison`);
    await poison.createIfNotExists();
    for (let i = 0; i < 3; i++) await poison.sendMessage(Buffer.from(JSON.stringify({ jobId: res.body.id, attempt: 1 })).toString('base64'));
    assert.equal((await app.waitForStatus(res.body.id, ['failed'])).status, 'failed');
    await eventually(async () => ((await poison.getProperties()).approximateMessagesCount === 0 ? true : undefined), 20_000, 'the poison queue to drain');
    // An export after the last delivery was handled: the cumulative counter says 1, not 3.
    const settledAt = app.host.output().length;
    const failed = await eventually(async () => {
      const out = app.host.output().slice(settledAt);
      const at = out.lastIndexOf("name: 'longhaul.jobs.failed'");
      return at >= 0 ? out.slice(at, at + 1500) : undefined;
    }, 10_000, 'a jobs.failed export');
    assert.match(failed, /value: 1\b/, `jobs failed counter = 1: ${failed}`);
    assert.deepEqual(await app.ledger(res.body.id), ['charge:1:-2', 'refund:1:2'], 'refunded once');
  });
});

describe('OpenTelemetry with an Application Insights connection string', () => {
  let app: JobsApp;
  before(async () => {
    // An ingestion endpoint nobody listens on: export fails in the background; the app must not notice.
    app = await startJobsApp({ name: 'telemetry_ai', env: { APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/' } });
  });
  after(async () => {
    await app?.stop();
  });

  it('sets up Azure Monitor and the Azure Functions instrumentation without disturbing the app', async () => {
    const user = await app.createUser(10);
    const res = await app.api<JobBody>('POST', '/api/jobs', user, { kind: 'workflow', input: llmNodes(2, 'azmon') });
    assert.equal((await app.waitForStatus(res.body.id, ['completed', 'failed'])).status, 'completed');
    assert.equal((await app.api('GET', '/api/health', null)).status, 200);
    // Setup reports a failure (a package that does not load, a patch that throws) as "telemetry is off: …".
    assert.doesNotMatch(app.host.output(), /telemetry is off/);
  });
});
