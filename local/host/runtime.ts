/**
 * Invokes functions with their bindings: adds the extra inputs the host provides (durableClient), applies the
 * function timeout, logs Executing/Executed lines like the host, and delivers extra outputs (queue messages).
 *
 * A timeout is not only a failed promise: JavaScript cannot be cancelled, so the timed-out work would go on running
 * (and writing) beside its own retry. Azure ends the worker process instead; `onTimeout` lets the host do the same.
 */
import { randomUUID } from 'node:crypto';
import type { CoreApiState, RegisteredFunction } from './coreApi';
import { FunctionInvoker } from './invoker';
import { resolveAppSettings } from './hostConfig';
import { fromTypedData, isTriggerType, type InvocationResponse, type RpcParameterBinding, type RpcRetryContext, type RpcTypedData } from './rpc';
import type { HostLogger } from './logger';
import type { QueueClients } from '../queue/queueClients';

const SUPPORTED_TRIGGERS = new Set(['httptrigger', 'queuetrigger', 'timertrigger', 'orchestrationtrigger', 'activitytrigger']);
const SUPPORTED_INPUTS = new Set(['durableclient', 'orchestrationclient']);
const SUPPORTED_OUTPUTS = new Set(['http', 'queue']);

/** Raised when a function's own code failed (as opposed to the host). */
export class InvocationError extends Error {
  override name = 'InvocationError';
}

export interface RuntimeOptions {
  log: HostLogger;
  functionTimeoutMs: number;
  /** Called when an invocation exceeds functionTimeout, before it fails; the host ends its process here. */
  onTimeout(functionName: string, timeoutMs: number, message: string): void;
  queues: QueueClients;
  durableClientPayload(): Record<string, unknown>;
  /** Called after the app enqueued to a queue, so a local listener can pick it up at once. */
  onQueueSend(queueName: string): void;
}

export class FunctionRuntime {
  readonly invoker: FunctionInvoker;

  constructor(private readonly core: CoreApiState, private readonly opts: RuntimeOptions) {
    this.invoker = new FunctionInvoker(core, ({ level, message, functionName, invocationId }) => {
      const line = `[${functionName}:${invocationId.slice(0, 8)}] ${message}`;
      if (level === 'error' || level === 'critical') opts.log.error(line);
      else if (level === 'warning') opts.log.warn(line);
      else if (level === 'information') opts.log.info(line);
      else opts.log.debug(line);
    });
  }

  get functions(): RegisteredFunction[] {
    return [...this.core.functions.values()];
  }

  get(name: string): RegisteredFunction | undefined {
    return this.core.functions.get(name);
  }

  /** Rejects bindings the local host cannot honour, at start-up rather than at first invocation. */
  validate(): void {
    for (const fn of this.functions) {
      for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
        const type = binding.type.toLowerCase();
        const supported = isTriggerType(binding.type)
          ? SUPPORTED_TRIGGERS.has(type)
          : binding.direction === 'in'
            ? SUPPORTED_INPUTS.has(type)
            : SUPPORTED_OUTPUTS.has(type);
        if (!supported) {
          throw new Error(`Function "${fn.metadata.name}" uses a "${binding.type}" binding (${name}), which the local host does not support; see docs/local-host.md`);
        }
      }
    }
  }

  static triggerOf(fn: RegisteredFunction): { name: string; type: string; options: Record<string, unknown> } {
    const name = FunctionInvoker.triggerBindingName(fn);
    const binding = fn.metadata.bindings[name]!;
    return { name, type: binding.type.toLowerCase(), options: binding };
  }

  async invoke(
    functionName: string,
    trigger: RpcTypedData | undefined,
    extra: { triggerMetadata?: Record<string, RpcTypedData>; retryContext?: RpcRetryContext; reason?: string } = {},
  ): Promise<InvocationResponse> {
    const fn = this.get(functionName);
    if (!fn) throw new Error(`The function '${functionName}' doesn't exist`);
    const triggerName = FunctionInvoker.triggerBindingName(fn);
    // The trigger entry is always sent, even without data: otherwise the context lands in the first parameter.
    const inputData: RpcParameterBinding[] = [{ name: triggerName, data: trigger }];
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      if (binding.direction !== 'in' || name === triggerName) continue;
      if (SUPPORTED_INPUTS.has(binding.type.toLowerCase())) {
        inputData.push({ name, data: { string: JSON.stringify(this.opts.durableClientPayload()) } });
      }
    }
    const invocationId = randomUUID();
    const started = performance.now();
    this.opts.log.debug(`Executing 'Functions.${functionName}' (Reason='${extra.reason ?? 'trigger'}', Id=${invocationId})`);
    let response: InvocationResponse;
    try {
      response = await withTimeout(
        this.invoker.invoke(fn, { inputData, triggerMetadata: extra.triggerMetadata, retryContext: extra.retryContext, invocationId }),
        this.opts.functionTimeoutMs,
        functionName,
        (message) => this.opts.onTimeout(functionName, this.opts.functionTimeoutMs, message),
      );
    } catch (err) {
      const ms = Math.round(performance.now() - started);
      const error = err instanceof Error ? err : new Error(String(err));
      this.opts.log.debug(`Executed 'Functions.${functionName}' (Failed, Id=${invocationId}, Duration=${ms}ms): ${error.message.split('\n')[0]}`);
      throw Object.assign(new InvocationError(error.message), { stack: error.stack, cause: err });
    }
    this.opts.log.debug(`Executed 'Functions.${functionName}' (Succeeded, Id=${invocationId}, Duration=${Math.round(performance.now() - started)}ms)`);
    await this.#deliverOutputs(fn, response);
    return response;
  }

  async #deliverOutputs(fn: RegisteredFunction, response: InvocationResponse): Promise<void> {
    for (const output of response.outputData ?? []) {
      const binding = fn.metadata.bindings[output.name];
      if (!binding || binding.type.toLowerCase() !== 'queue') continue;
      const value = fromTypedData(output.data);
      if (value === undefined || value === null) continue;
      // An array means one message per element (documented host behaviour).
      const messages = (Array.isArray(value) ? value : [value]).map((m) => (typeof m === 'string' ? m : Buffer.isBuffer(m) ? m.toString('utf8') : JSON.stringify(m)));
      const queueName = resolveAppSettings(String(binding.queueName)).toLowerCase();
      await this.opts.queues.send(queueName, binding.connection as string | undefined, messages);
      this.opts.onQueueSend(queueName);
    }
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number, functionName: string, onTimeout: (message: string) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const message = `Timeout value of ${formatSpan(ms)} was exceeded by function: Functions.${functionName}`;
      onTimeout(message);
      reject(new Error(message));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function formatSpan(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
