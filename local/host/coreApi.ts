/**
 * Provides `@azure/functions-core`, the module the real Functions worker injects into the app's process.
 * `@azure/functions` resolves it lazily and caches a failure forever (it then drops into "test mode" and registers
 * nothing), so this must be installed before the app — or anything else — first requires `@azure/functions`.
 * Like the worker (src/setupCoreModule.ts) it intercepts `require('@azure/functions-core')` instead of shipping a package.
 */
import Module from 'node:module';
import type { FunctionMetadata } from './rpc';

export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';
export type LogCategory = 'user' | 'system' | 'customMetric';
export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';
// The hook and callback contracts are the library's; the host only passes values through.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => any;

/** A registered function: its metadata as the library produced it and the callback to invoke. */
export interface RegisteredFunction {
  metadata: FunctionMetadata;
  callback: AnyFunction;
}

/** The programming model object `@azure/functions` registers (ProgrammingModel.ts). */
export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: unknown): InvocationModel;
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: AnyFunction): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<import('./rpc').InvocationResponse>;
}

class Disposable {
  #dispose: (() => void) | undefined;
  static from(...items: { dispose?: () => void }[]): Disposable {
    return new Disposable(() => items.forEach((item) => item.dispose?.()));
  }
  constructor(dispose: () => void) {
    this.#dispose = dispose;
  }
  dispose(): void {
    this.#dispose?.();
    this.#dispose = undefined;
  }
}

/** State shared between the injected module and the host. One function app per process, as in the real worker. */
export class CoreApiState {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks = new Map<HookName, AnyFunction[]>();
  programmingModel: ProgrammingModel | undefined;
  locked = false;
  logSink: (level: LogLevel, category: LogCategory, message: string) => void = () => undefined;

  hooksFor(name: HookName): AnyFunction[] {
    return this.hooks.get(name) ?? [];
  }
}

let installed: CoreApiState | undefined;

/** Installs the module hook once per process and returns the shared state. */
export function installCoreApi(hostVersion = '4.1037.0'): CoreApiState {
  if (installed) return installed;
  const state = new CoreApiState();
  const coreApi = {
    version: '3.10.1',
    get hostVersion() {
      return hostVersion;
    },
    Disposable,
    registerFunction(metadata: FunctionMetadata, callback: AnyFunction): Disposable {
      if (state.locked) throw new Error('A function can only be registered during app startup.');
      const id = metadata.functionId ?? metadata.name;
      if (state.functions.has(id)) throw new Error(`A function with id "${id}" has already been registered.`);
      state.functions.set(id, { metadata, callback });
      return new Disposable(() => state.functions.delete(id));
    },
    registerHook(name: HookName, callback: AnyFunction): Disposable {
      const list = state.hooks.get(name) ?? [];
      list.push(callback);
      state.hooks.set(name, list);
      return new Disposable(() => {
        const at = list.indexOf(callback);
        if (at >= 0) list.splice(at, 1);
      });
    },
    setProgrammingModel(model: ProgrammingModel): void {
      state.programmingModel = model;
    },
    getProgrammingModel(): ProgrammingModel | undefined {
      return state.programmingModel;
    },
    log(level: LogLevel, category: LogCategory, message: string): void {
      state.logSink(level, category, message);
    },
  };

  const moduleProto = Module.prototype as unknown as { require: (id: string) => unknown };
  const originalRequire = moduleProto.require;
  moduleProto.require = function patchedRequire(this: unknown, id: string) {
    if (id === '@azure/functions-core') return coreApi;
    return originalRequire.call(this, id);
  };
  installed = state;
  return state;
}
