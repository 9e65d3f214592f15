/**
 * The value of a `durableClient` input binding (extension BindingHelper.DurableOrchestrationClientToString).
 * Every URL carries `code=<durabletask_extension system key>`, as on Azure, and there is no `rpcBaseUrl`: the SDK
 * then calls the keyed management URLs below for every operation, so no part of the management API answers without
 * a key (the real extension's keyless rpc listener is reachable only inside Azure's sandbox; a developer machine
 * has no such boundary — any local process or a DNS-rebound web page can reach 127.0.0.1).
 */
export interface ClientBindingOptions {
  /** Origin the host listens on, e.g. http://127.0.0.1:7071 */
  origin: string;
  taskHub: string;
  /** The Durable extension's system key, put into every URL as `code=`. */
  systemKey: string;
  connectionName?: string;
}

const keyQuery = (opts: ClientBindingOptions): string => `code=${encodeURIComponent(opts.systemKey)}`;

/**
 * The management URLs of one instance (check-status payload). With instanceId 'INSTANCEID' these are the templates
 * the binding carries; the SDK substitutes the placeholder itself.
 */
export function managementUrls(opts: ClientBindingOptions, instanceId: string): Record<string, string> {
  const common = `taskHub=${encodeURIComponent(opts.taskHub)}&connection=${opts.connectionName ?? 'Storage'}&${keyQuery(opts)}`;
  const instance = `${opts.origin}/runtime/webhooks/durabletask/instances/${instanceId === 'INSTANCEID' ? instanceId : encodeURIComponent(instanceId)}`;
  return {
    id: instanceId,
    statusQueryGetUri: `${instance}?${common}`,
    sendEventPostUri: `${instance}/raiseEvent/{eventName}?${common}`,
    terminatePostUri: `${instance}/terminate?reason={text}&${common}`,
    rewindPostUri: `${instance}/rewind?reason={text}&${common}`,
    purgeHistoryDeleteUri: `${instance}?${common}`,
    restartPostUri: `${instance}/restart?${common}`,
    suspendPostUri: `${instance}/suspend?reason={text}&${common}`,
    resumePostUri: `${instance}/resume?reason={text}&${common}`,
  };
}

export function durableClientPayload(opts: ClientBindingOptions): Record<string, unknown> {
  const base = `${opts.origin}/runtime/webhooks/durabletask`;
  return {
    taskHubName: opts.taskHub,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${keyQuery(opts)}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${keyQuery(opts)}`,
    },
    managementUrls: managementUrls(opts, 'INSTANCEID'),
    baseUrl: base,
    requiredQueryStringParameters: keyQuery(opts),
  };
}
