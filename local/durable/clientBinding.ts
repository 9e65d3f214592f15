/**
 * The value of a `durableClient` input binding (extension BindingHelper.DurableOrchestrationClientToString).
 * `rpcBaseUrl` points at the host's loopback-only management endpoint, which the SDK then uses for every call.
 */
export interface ClientBindingOptions {
  /** Origin the host listens on, e.g. http://127.0.0.1:7071 */
  origin: string;
  taskHub: string;
  /** System key for the public webhook URLs; omitted from URLs when empty. */
  systemKey: string;
  connectionName?: string;
}

export function durableClientPayload(opts: ClientBindingOptions): Record<string, unknown> {
  const base = `${opts.origin}/runtime/webhooks/durabletask`;
  const keyQuery = opts.systemKey ? `&code=${encodeURIComponent(opts.systemKey)}` : '';
  const common = `taskHub=${encodeURIComponent(opts.taskHub)}&connection=${opts.connectionName ?? 'Storage'}${keyQuery}`;
  const instance = `${base}/instances/INSTANCEID`;
  return {
    taskHubName: opts.taskHub,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${keyQuery.slice(1)}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}${keyQuery}`,
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: `${instance}?${common}`,
      sendEventPostUri: `${instance}/raiseEvent/{eventName}?${common}`,
      terminatePostUri: `${instance}/terminate?reason={text}&${common}`,
      rewindPostUri: `${instance}/rewind?reason={text}&${common}`,
      purgeHistoryDeleteUri: `${instance}?${common}`,
      restartPostUri: `${instance}/restart?${common}`,
      suspendPostUri: `${instance}/suspend?reason={text}&${common}`,
      resumePostUri: `${instance}/resume?reason={text}&${common}`,
    },
    baseUrl: base,
    requiredQueryStringParameters: keyQuery.slice(1),
    rpcBaseUrl: `${opts.origin}/durabletask/`,
  };
}
