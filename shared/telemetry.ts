/**
 * OpenTelemetry for the app: traces and metrics through @opentelemetry/api, so shared code records without knowing
 * where the data goes. The exporter is chosen by configuration, once per process, while the function files load:
 *   APPLICATIONINSIGHTS_CONNECTION_STRING set → Azure Monitor (useAzureMonitor) plus the Azure Functions
 *     instrumentation (trace context of the host carried into handlers, logs sent from the worker);
 *   otherwise OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER = console | none (default none).
 * A missing package or a bad setting disables telemetry with one warning; it never stops the app.
 */
import { metrics, trace, SpanStatusCode, type Attributes, type Counter, type Histogram, type Span, type Tracer } from '@opentelemetry/api';
import { parseTelemetrySettings, type TelemetrySettings } from './config';

const SCOPE = 'longhaul';

/** The instruments longhaul records. */
export interface Instruments {
  tracer: Tracer;
  jobsStarted: Counter;
  jobsCompleted: Counter;
  jobsFailed: Counter;
  /** Milliseconds one chunk activity took, by kind, stage and outcome. */
  chunkDuration: Histogram;
  /** Milliseconds one provider call took, by provider, model and outcome. */
  providerDuration: Histogram;
  /** Provider answers 429 (rate limited), by provider and model. */
  providerRateLimited: Counter;
}

let setUp = false;
let instruments: Instruments | undefined;
let shutdown: (() => Promise<void>) | undefined;

/**
 * Sets telemetry up once per process (idempotent). Called when shared/services.ts loads, i.e. while the function
 * files are being registered and before any handler runs.
 */
export function setupTelemetry(env: Record<string, string | undefined> = process.env): void {
  if (setUp) return;
  setUp = true;
  let settings: TelemetrySettings;
  try {
    settings = parseTelemetrySettings(env);
  } catch (err) {
    console.warn(`telemetry is off: ${(err as Error).message}`);
    return;
  }
  try {
    if (settings.connectionString) useAzureMonitor(settings);
    else useStandardExporters(settings);
  } catch (err) {
    console.warn(`telemetry is off: ${(err as Error).message}`);
  }
}

function useAzureMonitor(settings: TelemetrySettings): void {
  const monitor = require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  monitor.useAzureMonitor({ azureMonitorExporterOptions: { connectionString: settings.connectionString } });
  shutdown = () => monitor.shutdownAzureMonitor();
  const { AzureFunctionsInstrumentation } = require('@azure/functions-opentelemetry-instrumentation') as typeof import('@azure/functions-opentelemetry-instrumentation');
  // Constructed disabled and patched by hand, once: function files import @azure/functions before anything from
  // shared/, and the outcome must not depend on whether a require hook still sees the module load.
  const instrumentation = new AzureFunctionsInstrumentation({ enabled: false });
  instrumentation.setTracerProvider(trace.getTracerProvider());
  instrumentation.setMeterProvider(metrics.getMeterProvider());
  // The patch registers invocation hooks and app.setup capabilities: it must run before the app finishes starting,
  // which is now (function files are still loading).
  const azFunc = require('@azure/functions') as unknown;
  for (const definition of instrumentation.getModuleDefinitions()) definition.patch?.(azFunc);
}

function useStandardExporters(settings: TelemetrySettings): void {
  if (settings.traces === 'console') {
    const { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
    const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
      spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
    });
    trace.setGlobalTracerProvider(provider);
    const previous = shutdown;
    shutdown = async () => {
      await previous?.();
      await provider.shutdown();
    };
  }
  if (settings.metrics === 'console') {
    const { MeterProvider, PeriodicExportingMetricReader, ConsoleMetricExporter } = require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
    const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
      readers: [new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: settings.metricIntervalMs })],
    });
    metrics.setGlobalMeterProvider(provider);
    const previous = shutdown;
    shutdown = async () => {
      await previous?.();
      await provider.shutdown();
    };
  }
}

/** Flushes and stops the exporters (process shutdown). */
export async function shutdownTelemetry(): Promise<void> {
  await shutdown?.().catch(() => undefined);
}

/** The instruments, created on first use from whatever providers setupTelemetry registered (no-op ones otherwise). */
export function telemetry(): Instruments {
  if (!instruments) {
    const meter = metrics.getMeter(SCOPE);
    instruments = {
      tracer: trace.getTracer(SCOPE),
      jobsStarted: meter.createCounter('longhaul.jobs.started', { description: 'Job attempts that started running' }),
      jobsCompleted: meter.createCounter('longhaul.jobs.completed', { description: 'Jobs that completed' }),
      jobsFailed: meter.createCounter('longhaul.jobs.failed', { description: 'Jobs that failed' }),
      chunkDuration: meter.createHistogram('longhaul.chunk.duration', { description: 'Duration of one chunk activity', unit: 'ms' }),
      providerDuration: meter.createHistogram('longhaul.provider.duration', { description: 'Duration of one AI provider call', unit: 'ms' }),
      providerRateLimited: meter.createCounter('longhaul.provider.rate_limited', { description: 'AI provider answers 429 (rate limited)' }),
    };
  }
  return instruments;
}

/** Runs `fn` in a span named `name`; the span records an exception and error status when `fn` throws. */
export async function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return telemetry().tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
