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

const keyQuery = (opts: ClientBindingOptions): string => (opts.systemKey ? `&code=${encodeURIComponent(opts.systemKey)}` : '');

/**
 * The management URLs of one instance (check-status payload). With instanceId 'INSTANCEID' these are the templates
 * the binding carries; the SDK substitutes the placeholder itself.
 */
export function managementUrls(opts: ClientBindingOptions, instanceId: string): Record<string, string> {
  const common = `taskHub=${encodeURIComponent(opts.taskHub)}&connection=${opts.connectionName ?? 'Storage'}${keyQuery(opts)}`;
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
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${keyQuery(opts).slice(1)}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}${keyQuery(opts)}`,
    },
    managementUrls: managementUrls(opts, 'INSTANCEID'),
    baseUrl: base,
    requiredQueryStringParameters: keyQuery(opts).slice(1),
    rpcBaseUrl: `${opts.origin}/durabletask/`,
  };
}
