/**
 * Invokes a registered function exactly as the Node worker does (worker InvocationHandler.ts): the library's own
 * programming model builds the arguments and the InvocationContext, hooks run around the call, and the model converts
 * the result (HTTP response, return value, extra outputs) back to RPC data.
 */
import { randomUUID } from 'node:crypto';
import type { AnyFunction, CoreApiState, LogCategory, LogLevel, RegisteredFunction } from './coreApi';
import type { InvocationResponse, RpcParameterBinding, RpcRetryContext, RpcTypedData } from './rpc';
import { isTriggerType } from './rpc';

export interface InvocationRequest {
  /** Trigger value and any extra inputs, keyed by binding name. The trigger entry must always be present. */
  inputData: RpcParameterBinding[];
  triggerMetadata?: Record<string, RpcTypedData>;
  retryContext?: RpcRetryContext;
  invocationId?: string;
}

export type InvocationLog = (entry: {
  level: LogLevel;
  category: LogCategory;
  message: string;
  functionName: string;
  invocationId: string;
}) => void;

export class FunctionInvoker {
  constructor(
    private readonly core: CoreApiState,
    private readonly log: InvocationLog,
    /** App-level hook data shared by every hook for the app's lifetime (worker `appHookData`). */
    private readonly appHookData: Record<string, unknown> = {},
  ) {}

  /** Name of the trigger binding of a function (the first binding whose type ends in "Trigger"). */
  static triggerBindingName(fn: RegisteredFunction): string {
    const entry = Object.entries(fn.metadata.bindings).find(([, b]) => isTriggerType(b.type));
    if (!entry) throw new Error(`Function "${fn.metadata.name}" has no trigger binding.`);
    return entry[0];
  }

  async invoke(fn: RegisteredFunction, request: InvocationRequest): Promise<InvocationResponse> {
    const model = this.core.programmingModel;
    if (!model) throw new Error('The app registered no programming model (did it load @azure/functions?).');
    const invocationId = request.invocationId ?? randomUUID();
    const functionName = fn.metadata.name;
    const coreContext: {
      invocationId: string;
      request: unknown;
      metadata: unknown;
      state?: 'preInvocationHooks' | 'invocation' | 'postInvocationHooks';
      log: (level: LogLevel, category: LogCategory, message: string) => void;
    } = {
      invocationId,
      request: {
        invocationId,
        functionId: functionName,
        inputData: request.inputData,
        triggerMetadata: request.triggerMetadata,
        retryContext: request.retryContext,
      },
      metadata: { ...fn.metadata, functionId: functionName },
      log: (level, category, message) => this.log({ level, category, message, functionName, invocationId }),
    };

    const invocationModel = model.getInvocationModel(coreContext);
    const { context, inputs } = await invocationModel.getArguments();
    const hookData: Record<string, unknown> = {};

    const pre: { hookData: unknown; appHookData: unknown; invocationContext: unknown; inputs: unknown[]; functionCallback: AnyFunction } = {
      hookData,
      appHookData: this.appHookData,
      invocationContext: context,
      inputs,
      functionCallback: fn.callback,
    };
    coreContext.state = 'preInvocationHooks';
    for (const hook of this.core.hooksFor('preInvocation')) await hook(pre);

    coreContext.state = 'invocation';
    let result: unknown;
    let error: unknown;
    try {
      result = await invocationModel.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (err) {
      error = err;
    }

    const post = { hookData, appHookData: this.appHookData, invocationContext: context, inputs: pre.inputs, result, error };
    coreContext.state = 'postInvocationHooks';
    for (const hook of this.core.hooksFor('postInvocation')) await hook(post);
    if (post.error) throw post.error;
    return invocationModel.getResponse(context, post.result);
  }
}
