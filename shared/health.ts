/**
 * Health checks: each dependency is probed in parallel under a deadline; the report names every check so an
 * operator sees which one failed. Healthy only when all pass. The full report (timings, error text, providers and
 * models) is for the operator; anyone else gets publicHealthReport.
 */
export type HealthCheck = () => Promise<string | void>;

export interface CheckResult {
  status: 'ok' | 'failed' | 'skipped';
  durationMs: number;
  detail?: string;
}

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  checks: Record<string, CheckResult>;
}

/** Marks a dependency that is not configured; it neither passes nor fails the report. */
export class CheckSkipped extends Error {
  override name = 'CheckSkipped';
}

/** What an anonymous caller sees: the verdict and each check's name and status, no detail or timing. */
export interface PublicHealthReport {
  status: HealthReport['status'];
  checks: Record<string, { status: CheckResult['status'] }>;
}

/** The report without what would describe the deployment to a stranger (error text, provider and model names, timings). */
export function publicHealthReport(report: HealthReport): PublicHealthReport {
  return { status: report.status, checks: Object.fromEntries(Object.entries(report.checks).map(([name, r]) => [name, { status: r.status }])) };
}

export async function runHealthChecks(checks: Record<string, HealthCheck>, timeoutMs = 5000): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const detail = await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { status: 'ok', durationMs: Math.round(performance.now() - started), ...(detail ? { detail } : {}) }];
      } catch (err) {
        const status = err instanceof CheckSkipped ? 'skipped' : 'failed';
        return [name, { status, durationMs: Math.round(performance.now() - started), detail: (err as Error).message }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const results = Object.fromEntries(entries);
  const healthy = Object.values(results).every((r) => r.status !== 'failed');
  return { status: healthy ? 'healthy' : 'unhealthy', checks: results };
}
