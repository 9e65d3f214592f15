/**
 * The local Functions host: loads the built app unmodified, then serves its triggers — HTTP, storage queues, timers,
 * and Durable orchestrations/activities on a Postgres-backed task hub. Several host processes may share one
 * database and one storage account, as instances of a Function App share theirs.
 */
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { Pool } from 'pg';
import { installCoreApi } from './coreApi';
import { loadFunctionApp, loadLocalSettings } from './appLoader';
import { readHostConfig, resolveAppSettings, type HostConfig } from './hostConfig';
import { createLogger, type HostLogger } from './logger';
import { fromTypedData } from './rpc';
import { FunctionRuntime } from './runtime';
import { HttpFrontEnd } from '../http/server';
import { DURABLE_SYSTEM_KEY, type AuthLevel, type HostKeys } from '../http/keys';
import { ManagementApi } from '../durable/managementApi';
import { durableClientPayload } from '../durable/clientBinding';
import { ensureSchema } from '../durable/store';
import { OrchestrationWorker } from '../durable/orchestrationWorker';
import { ActivityWorker, type ActivityWorkItem } from '../durable/activityWorker';
import { HostLiveness, reclaimOrphanedActivities } from '../durable/liveness';
import { HTTP_ACTIVITY, type OrchestratorResult } from '../durable/episode';
import { QueueClients } from '../queue/queueClients';
import { QueueListener } from '../queue/queueListener';
import { TIMER_SCHEMA_SQL, TimerScheduler } from '../timer/timerScheduler';
import { performHttpActivity } from './httpActivity';

export interface HostOptions {
  appDir: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Database of the Durable task hub and the timer monitor. */
  databaseUrl: string;
  keys: HostKeys;
  /** Host header values accepted besides the loopback names with our port (a tunnel's public name, say). */
  publicHosts?: readonly string[];
  /**
   * What an invocation over functionTimeout does to the host. Default: end the process with FUNCTION_TIMEOUT_EXIT_CODE,
   * as Azure ends the worker, so the timed-out code stops; the supervisor (npm start) starts a fresh host.
   */
  onFunctionTimeout?: (functionName: string, timeoutMs: number, message: string) => void;
  log?: HostLogger;
}

/** Exit code of a host ended by a function timeout (the code coreutils' `timeout` uses). */
export const FUNCTION_TIMEOUT_EXIT_CODE = 124;

function endProcessOnTimeout(functionName: string, timeoutMs: number, message: string): void {
  // Written synchronously: the process ends on the next line and the reason must not be lost with it.
  writeSync(2, `${new Date().toISOString()} ERROR [host] ${message} (functionTimeout ${timeoutMs} ms): ending the host process, as Azure ends the worker; in-flight invocations end with it\n`);
  process.exit(FUNCTION_TIMEOUT_EXIT_CODE);
}

export interface RunningHost {
  url: string;
  port: number;
  config: HostConfig;
  functionNames: string[];
  orchestrations: OrchestrationWorker;
  activities: ActivityWorker;
  liveness: HostLiveness;
  stop(): Promise<void>;
}

export async function startHost(opts: HostOptions): Promise<RunningHost> {
  // Before anything can require @azure/functions (see coreApi.ts).
  const core = installCoreApi();
  const log = opts.log ?? createLogger('host');
  loadLocalSettings(opts.appDir);
  const config = readHostConfig(opts.appDir, cpus().length);
  const origin = randomBytes(6).toString('hex');
  const durableKey = opts.keys.systemKeys?.[DURABLE_SYSTEM_KEY];
  if (!durableKey) throw new Error(`keys have no "${DURABLE_SYSTEM_KEY}" system key for the Durable management API`);
  const lanes = Math.min(config.durableTask.maxConcurrentOrchestratorFunctions, 8);
  const pool = new Pool({
    connectionString: opts.databaseUrl,
    max: lanes + 6,
    application_name: 'longhaul-host',
    // Commits need not wait for the WAL flush: a Postgres crash can lose only the last moments of work, and every
    // transaction here is atomic, so that rewinds state consistently (an activity runs again; at-least-once anyway).
    // durabletask.origin tags this host's NOTIFYs, so it does not wake itself twice (see schema.ts).
    options: `-c synchronous_commit=off -c durabletask.origin=${origin}`,
  });
  pool.on('error', (err) => log.warn(`database pool: ${err.message}`));
  // The pool listens for errors on idle clients only: a server restart while a client is checked out (between two
  // queries of an episode) would emit an unhandled 'error' and end the host. The next query on it fails instead, and
  // the pool discards the broken client when it is released.
  pool.on('connect', (client) => client.on('error', (err) => log.warn(`database connection: ${err.message}`)));
  await ensureSchema(pool);
  await pool.query(TIMER_SCHEMA_SQL);

  const queues = new QueueClients(config.queues.messageEncoding);
  const listeners = new Map<string, QueueListener[]>();
  let baseUrl = '';
  const runtime = new FunctionRuntime(core, {
    log,
    functionTimeoutMs: config.functionTimeoutMs,
    onTimeout: opts.onFunctionTimeout ?? endProcessOnTimeout,
    queues,
    durableClientPayload: () => durableClientPayload({ origin: baseUrl, taskHub: config.durableTask.hubName, systemKey: durableKey }),
    onQueueSend: (queueName) => listeners.get(queueName)?.forEach((l) => l.wake.notifyOne()),
  });

  let managementApi: ManagementApi | undefined;
  const http = new HttpFrontEnd({
    routePrefix: config.http.routePrefix,
    maxRequestBodyBytes: config.http.maxRequestBodyBytes,
    keys: opts.keys,
    publicHosts: opts.publicHosts,
    durableApi: () => managementApi,
    invoke: async (name, request) => {
      const response = await runtime.invoke(name, { http: request }, { reason: 'HTTP request' });
      return response.returnValue?.http ?? undefined;
    },
    log,
  });
  const port = await http.listen(opts.port);
  baseUrl = `http://127.0.0.1:${port}`;
  // getClient() rewrites client URLs to localhost:7071 unless WEBSITE_HOSTNAME names the real host (durable-protocol §2.1).
  process.env.WEBSITE_HOSTNAME = `127.0.0.1:${port}`;

  const files = await loadFunctionApp(core, opts.appDir);
  runtime.validate();
  log.debug(`loaded ${files.length} file(s), ${runtime.functions.length} function(s)`);

  const orchestratorNames = new Set<string>();
  const timers = new TimerScheduler(pool, log);
  for (const fn of runtime.functions) {
    const name = fn.metadata.name;
    // As on Azure: the app setting AzureWebJobs.<name>.Disabled (true or 1) keeps a function from being triggered.
    if (/^(true|1)$/i.test(process.env[`AzureWebJobs.${name}.Disabled`] ?? '')) {
      log.info(`function ${name} is disabled (AzureWebJobs.${name}.Disabled)`);
      continue;
    }
    const trigger = FunctionRuntime.triggerOf(fn);
    if (trigger.type === 'httptrigger') {
      const route = typeof trigger.options.route === 'string' ? trigger.options.route : name;
      http.addRoute(name, route, trigger.options.methods as string[] | undefined, ((trigger.options.authLevel as string | undefined)?.toLowerCase() ?? 'anonymous') as AuthLevel);
    } else if (trigger.type === 'orchestrationtrigger') {
      orchestratorNames.add(name);
    } else if (trigger.type === 'queuetrigger') {
      const queueName = resolveAppSettings(String(trigger.options.queueName)).toLowerCase();
      const listener = new QueueListener(queues, {
        functionName: name,
        queueName,
        connection: trigger.options.connection as string | undefined,
        ...config.queues,
        invoke: async (data, triggerMetadata) => {
          await runtime.invoke(name, data, { triggerMetadata, reason: 'New queue message detected' });
        },
      }, log);
      listeners.set(queueName, [...(listeners.get(queueName) ?? []), listener]);
    } else if (trigger.type === 'timertrigger') {
      await timers.add({
        functionName: name,
        schedule: resolveAppSettings(String(trigger.options.schedule)),
        runOnStartup: trigger.options.runOnStartup === true,
        useMonitor: trigger.options.useMonitor !== false,
        invoke: async (data) => {
          await runtime.invoke(name, data, { reason: 'Timer fired' });
        },
      });
    }
  }

  managementApi = new ManagementApi({
    pool,
    origin: baseUrl,
    taskHub: config.durableTask.hubName,
    systemKey: durableKey,
    isOrchestrator: (name) => orchestratorNames.has(name),
    onMessageSent: () => orchestrations.signal.notifyOne(),
  });

  const invokeOrchestrator = async (name: string, contextJson: string): Promise<OrchestratorResult> => {
    if (!orchestratorNames.has(name)) throw new Error(`The function '${name}' doesn't exist, is disabled, or is not an orchestrator function`);
    const response = await runtime.invoke(name, { string: contextJson }, { reason: 'Orchestration' });
    return fromTypedData(response.returnValue) as OrchestratorResult;
  };
  const invokeActivity = async (item: ActivityWorkItem): Promise<unknown> => {
    if (item.name === HTTP_ACTIVITY) return performHttpActivity(item.input);
    const fn = runtime.get(item.name);
    if (!fn || FunctionRuntime.triggerOf(fn).type !== 'activitytrigger') throw new Error(`The function '${item.name}' doesn't exist, is disabled, or is not an activity function`);
    const response = await runtime.invoke(item.name, item.input === null ? undefined : { json: item.input }, { reason: 'Activity' });
    return fromTypedData(response.returnValue);
  };

  let activities: ActivityWorker | undefined;
  const orchestrations = new OrchestrationWorker(pool, invokeOrchestrator, log, lanes, () => activities?.signal.notifyOne());
  const liveness = new HostLiveness(opts.databaseUrl, (payload) => {
    const [kind, from] = payload.split(':');
    if (from === origin) return;
    if (kind === 'o') orchestrations.signal.notifyOne();
    else if (kind === 'a') activities?.signal.notifyOne();
  }, log);
  await liveness.start();
  activities = new ActivityWorker(pool, () => liveness.hostId, invokeActivity, log, config.durableTask.maxConcurrentActivityFunctions, () => orchestrations.signal.notifyOne());
  await reclaimOrphanedActivities(pool);
  orchestrations.start();
  activities.start();
  // Dead hosts' claims are released within a second; their connections (and locks) are gone already.
  const reclaimer = setInterval(() => {
    reclaimOrphanedActivities(pool).catch((err: unknown) => log.debug(`reclaim failed: ${(err as Error).message}`));
  }, 1000);
  for (const group of listeners.values()) group.forEach((l) => l.start());

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      clearInterval(reclaimer);
      log.debug(`episodes ${orchestrations.episodes}, replay ${Math.round(orchestrations.replayMs)} ms, activities ${activities?.executed ?? 0}`);
      await http.close();
      await Promise.all([...listeners.values()].flat().map((l) => l.stop()));
      await timers.stop();
      await orchestrations.stop();
      await activities?.stop();
      for (const hook of core.hooksFor('appTerminate')) await Promise.resolve(hook({ hookData: {}, appHookData: {} })).catch(() => undefined);
      await liveness.stop();
      await pool.end();
    })();
    return stopped;
  };

  return {
    url: baseUrl,
    port,
    config,
    functionNames: runtime.functions.map((f) => f.metadata.name),
    orchestrations,
    activities,
    liveness,
    stop,
  };
}
