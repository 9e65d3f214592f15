import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHostConfig } from '../../local/host/hostConfig';

describe('host.json overrides from app settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'longhaul-hostjson-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'host.json'), JSON.stringify({ version: '2.0', functionTimeout: '00:10:00', extensions: { queues: { batchSize: 16 } } }));

  it('applies AzureFunctionsJobHost__<path> settings over host.json, matching keys case-insensitively and keeping value types', () => {
    const config = readHostConfig(dir, 2, {
      AzureFunctionsJobHost__functionTimeout: '00:00:01',
      azurefunctionsjobhost__Extensions__Queues__BatchSize: '4',
      AzureFunctionsJobHost__extensions__durableTask__hubName: 'overridden',
    });
    assert.equal(config.functionTimeoutMs, 1000);
    assert.equal(config.queues.batchSize, 4);
    assert.equal(config.durableTask.hubName, 'overridden');
    assert.equal(readHostConfig(dir, 2, {}).functionTimeoutMs, 600_000, 'host.json itself is unchanged');
  });

  it('names the setting path when an override is malformed', () => {
    assert.throws(() => readHostConfig(dir, 2, { AzureFunctionsJobHost__functionTimeout: 'soon' }), /functionTimeout/);
  });
});
