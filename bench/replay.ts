/**
 * Replays one instance's stored history through the real durable-functions SDK, in this process, and prints the
 * time of each invocation (JSON array on the last line). Usage: node dist/bench/replay.js <databaseUrl> <instanceId> <n>
 */
import { Client } from 'pg';
import { installCoreApi } from '../local/host/coreApi';
import { loadFunctionApp } from '../local/host/appLoader';
import { FunctionInvoker } from '../local/host/invoker';
import { conformanceAppDir } from '../test/support/hostProcess';

async function main(): Promise<void> {
  const [databaseUrl, instanceId, n] = process.argv.slice(2);
  const core = installCoreApi();
  await loadFunctionApp(core, conformanceAppDir());
  const sql = new Client({ connectionString: databaseUrl });
  await sql.connect();
  const instance = (await sql.query<{ name: string; input: string }>('select name, input from durabletask.instances where instance_id = $1', [instanceId])).rows[0];
  const events = (await sql.query<{ event: string }>('select event from durabletask.history where instance_id = $1 order by seq', [instanceId])).rows.map((r) => r.event);
  await sql.end();
  if (!instance) throw new Error(`no instance ${instanceId}`);
  const context = `{"history":[${events.join(',')}],"input":${instance.input ?? 'null'},"instanceId":${JSON.stringify(instanceId)},"isReplaying":true,"parentInstanceId":null,"upperSchemaVersion":1,"upperSchemaVersionNew":2,"longRunningTimerIntervalDuration":"3.00:00:00","maximumShortTimerDuration":"6.00:00:00","defaultHttpAsyncRequestSleepTimeMillseconds":30000}`;
  const fn = core.functions.get(instance.name);
  if (!fn) throw new Error(`no orchestrator ${instance.name}`);
  const invoker = new FunctionInvoker(core, () => undefined);
  const trigger = FunctionInvoker.triggerBindingName(fn);
  const times: number[] = [];
  for (let i = 0; i < Number(n ?? '3') + 1; i++) {
    const started = performance.now();
    await invoker.invoke(fn, { inputData: [{ name: trigger, data: { string: context } }] });
    if (i > 0) times.push(performance.now() - started); // the first run warms the JIT
  }
  console.log(JSON.stringify(times));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
