import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTimeSpan, readHostConfig, resolveAppSettings } from '../../local/host/hostConfig';
import { keyAllows, secretsEqual } from '../../local/http/keys';
import { parseConfig, SETTING_NAMES } from '../../shared/config';
import { nextOccurrence } from '../../local/timer/timerScheduler';
import { repoRoot } from '../support/hostProcess';

const appDirs: string[] = [];
after(() => appDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function appWith(hostJson: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostjson-'));
  appDirs.push(dir);
  writeFileSync(join(dir, 'host.json'), JSON.stringify(hostJson));
  return dir;
}

describe('host configuration', () => {
  it('parses .NET TimeSpans, with days and fractions', () => {
    assert.equal(parseTimeSpan('00:05:00'), 300_000);
    assert.equal(parseTimeSpan('1.02:00:00'), 26 * 3_600_000);
    assert.equal(parseTimeSpan('00:00:00.5'), 500);
    assert.throws(() => parseTimeSpan('5 minutes'), /not a TimeSpan/);
  });

  it('applies the Functions host defaults for everything host.json leaves out', () => {
    const config = readHostConfig(appWith({ version: '2.0' }), 2);
    assert.equal(config.http.routePrefix, 'api');
    assert.deepEqual(config.queues, { batchSize: 16, newBatchThreshold: 16, maxPollingIntervalMs: 60_000, visibilityTimeoutMs: 0, maxDequeueCount: 5, messageEncoding: 'base64' });
    assert.equal(config.durableTask.maxConcurrentActivityFunctions, 20);
    assert.equal(config.functionTimeoutMs, 30 * 60_000);
  });

  it('names the field when host.json is invalid', () => {
    assert.throws(() => readHostConfig(appWith({ version: '2.0', extensions: { queues: { batchSize: 64 } } }), 2), /extensions\.queues\.batchSize/);
    assert.throws(() => readHostConfig(appWith({ version: '2.0', functionTimeout: 'soon' }), 2), /functionTimeout/);
  });

  it('reads the repository host.json', () => {
    const config = readHostConfig(repoRoot, 2);
    assert.equal(config.functionTimeoutMs, 10 * 60_000);
    assert.equal(config.durableTask.hubName, 'longhaul');
  });

  it('resolves %Setting% binding expressions and names a missing setting', () => {
    assert.equal(resolveAppSettings('%Q%-x', { Q: 'jobs' }), 'jobs-x');
    assert.throws(() => resolveAppSettings('%MISSING%', {}), /"MISSING"/);
  });

  it('reads NCRONTAB schedules with a seconds field and TimeSpan intervals', () => {
    const from = new Date('2026-01-01T00:00:01.000Z');
    assert.equal(nextOccurrence('*/10 * * * * *', from).toISOString(), '2026-01-01T00:00:10.000Z');
    assert.equal(nextOccurrence('0 30 9 * * 1-5', from).toISOString(), '2026-01-01T09:30:00.000Z');
    assert.equal(nextOccurrence('00:05:00', from).toISOString(), '2026-01-01T00:05:01.000Z');
    assert.throws(() => nextOccurrence('*/5 * * * *', from), /6 fields/);
  });
});

describe('keys and app settings', () => {
  it('compares secrets exactly', () => {
    assert.equal(secretsEqual('abc', 'abc'), true);
    assert.equal(secretsEqual('abc', 'abd'), false);
    assert.equal(secretsEqual('abc', 'abcd'), false);
  });

  it('admits host keys on function routes and only the master key on admin routes', () => {
    const keys = { masterKey: 'm', hostKeys: { default: 'h' } };
    assert.equal(keyAllows(keys, 'anonymous', undefined), true);
    assert.equal(keyAllows(keys, 'function', 'h'), true);
    assert.equal(keyAllows(keys, 'function', 'm'), true);
    assert.equal(keyAllows(keys, 'function', undefined), false);
    assert.equal(keyAllows(keys, 'admin', 'h'), false);
    assert.equal(keyAllows(keys, 'admin', 'm'), true);
  });

  it('names the malformed setting at start-up', () => {
    assert.throws(() => parseConfig({ DATABASE_URL: 'not a url' }), /Setting DATABASE_URL is invalid/);
    assert.deepEqual(parseConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).storage, { connectionString: 'UseDevelopmentStorage=true' });
  });

  it('reads identity-based storage as the Functions host does: service URIs or the account name, and a connection string wins', () => {
    assert.deepEqual(parseConfig({ AzureWebJobsStorage__accountName: 'lhstore1', AzureWebJobsStorage__credential: 'ManagedIdentity', AzureWebJobsStorage__clientId: 'c1' }).storage, {
      identity: { blobServiceUri: 'https://lhstore1.blob.core.windows.net', queueServiceUri: 'https://lhstore1.queue.core.windows.net', credential: 'managedidentity', clientId: 'c1' },
    });
    const uris = { AzureWebJobsStorage__blobServiceUri: 'https://a.blob.core.windows.net/', AzureWebJobsStorage__queueServiceUri: 'https://a.queue.core.windows.net/' };
    assert.deepEqual(parseConfig(uris).storage, { identity: { blobServiceUri: uris.AzureWebJobsStorage__blobServiceUri, queueServiceUri: uris.AzureWebJobsStorage__queueServiceUri, credential: undefined, clientId: undefined } });
    assert.deepEqual(parseConfig({ ...uris, AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).storage, { connectionString: 'UseDevelopmentStorage=true' });
    assert.throws(() => parseConfig({ ...uris, AzureWebJobsStorage__credential: 'clientsecret' }), /Setting AzureWebJobsStorage__credential is invalid/);
    // URLs signed with a user delegation key live at most 7 days.
    assert.throws(() => parseConfig({ ...uris, IMAGE_URL_TTL_HOURS: '169' }), /IMAGE_URL_TTL_HOURS is invalid: at most 168 with identity-based storage/);
    assert.equal(parseConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', IMAGE_URL_TTL_HOURS: '720' }).files.urlLifetimeMs, 720 * 3_600_000);
  });

  it('lists every setting the app reads in the README', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    for (const name of SETTING_NAMES) assert.ok(readme.includes(`| \`${name}\` |`), `README lists ${name}`);
  });

  it('documents every setting the app reads in local.settings.example.json, with a comment each', () => {
    const example = JSON.parse(readFileSync(join(repoRoot, 'local.settings.example.json'), 'utf8')) as { Comments: Record<string, string> };
    for (const name of SETTING_NAMES) assert.ok(example.Comments[name], `${name} is documented`);
  });
});
