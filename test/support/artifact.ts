/**
 * Readers for the deployment files the artifact and webhook tests check: .funcignore (the subset of gitignore syntax
 * Core Tools honours that we use), package.json engines ranges, and the settings infra/main.bicep gives the app.
 * Bicep is not compiled here, so settings are read from its source with patterns that fail loudly when it changes shape.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A matcher for .funcignore: `path` is repo-relative with `/`, directories end with `/`. The last matching line wins. */
export function compileIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      let pattern = negate ? line.slice(1) : line;
      const dirOnly = pattern.endsWith('/');
      if (dirOnly) pattern = pattern.slice(0, -1);
      const anchored = pattern.includes('/');
      if (pattern.startsWith('/')) pattern = pattern.slice(1);
      const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
      return { negate, dirOnly, regex: new RegExp(anchored ? `^${body}$` : `(^|/)${body}$`) };
    });
  const matches = (candidate: string, isDir: boolean): boolean | undefined => {
    let result: boolean | undefined;
    for (const rule of rules) if ((!rule.dirOnly || isDir) && rule.regex.test(candidate)) result = !rule.negate;
    return result;
  };
  return (path) => {
    const isDir = path.endsWith('/');
    const parts = path.replace(/\/$/, '').split('/');
    // An excluded directory excludes everything below it (gitignore cannot re-include inside it).
    for (let i = 1; i < parts.length; i++) if (matches(parts.slice(0, i).join('/'), true)) return true;
    return matches(parts.join('/'), isDir) ?? false;
  };
}

/** Whether a package.json engines range admits a Node major (forms: N, N.x, ^N, >=N, >=N <M, joined by ||). */
export function nodeMajorsAllowed(range: string, major: number): boolean {
  return range.split('||').some((alternative) => {
    // `>= 14` is `>=14`; `*`, `x` and an empty alternative allow any version.
    const parts = alternative.trim().replace(/(>=|<=|>|<)\s+/g, '$1').split(/\s+/).filter((p) => p !== '' && p !== '*' && p !== 'x');
    return parts.every((part) => {
      const m = /^(>=|>|<=|<|\^|~)?v?(\d+)(?:\.[\dx*]+)*$/.exec(part);
      if (!m) throw new Error(`engines range part "${part}" is not understood`);
      const n = Number(m[2]);
      switch (m[1]) {
        case '>=': return major >= n;
        case '>': return major > n;
        case '<=': return major <= n;
        case '<': return major < n;
        default: return major === n;
      }
    });
  });
}

export interface InfraSettings {
  runtimeName: string;
  runtimeVersion: string;
  taskHubName: string;
  /** App settings the Function App gets (value: the literal or the parameter's default; undefined when not literal). */
  appSettings: Record<string, string | undefined>;
  /** Parameter defaults of main.bicep. */
  params: Record<string, string>;
}

const SETTING_KEY = /\b([A-Z][A-Z0-9]*_[A-Z0-9_]+|AzureWebJobsStorage(?:__\w+)?|AzureFunctionsJobHost__\w+):\s*([^\n}]+)/g;

export function readInfraSettings(repoRoot: string): InfraSettings {
  const main = readFileSync(join(repoRoot, 'infra', 'main.bicep'), 'utf8');
  const api = readFileSync(join(repoRoot, 'infra', 'app', 'api.bicep'), 'utf8');
  const one = (re: RegExp, what: string): string => {
    const m = re.exec(main);
    if (!m?.[1]) throw new Error(`infra/main.bicep: ${what} not found`);
    return m[1];
  };
  const params: Record<string, string> = {};
  for (const [, name, text, other] of main.matchAll(/^param (\w+) \w+ = (?:'([^']*)'|(\d+|true|false))/gm)) if (name) params[name] = text ?? other ?? '';
  const resolveValue = (expr: string): string | undefined => {
    const text = expr.replace(/\s*\/\/.*$/, '').trim();
    const literal = /^'([^']*)'$/.exec(text);
    if (literal) return literal[1];
    const ref = /^(?:string\()?(\w+)\)?$/.exec(text);
    return ref?.[1] !== undefined ? params[ref[1]] : undefined;
  };
  const appSettings: Record<string, string | undefined> = {};
  for (const source of [main, api]) for (const [, name, value] of source.matchAll(SETTING_KEY)) if (name) appSettings[name] = resolveValue(value ?? '');
  const secretNames = /var secretSettingNames = \{([^}]*)\}/.exec(main)?.[1];
  if (!secretNames) throw new Error('infra/main.bicep: secretSettingNames not found');
  for (const [, name] of secretNames.matchAll(/:\s*'([A-Z][A-Z0-9_]+)'/g)) if (name) appSettings[name] = undefined;
  return {
    runtimeName: one(/runtimeName: '([^']+)'/, 'runtimeName'),
    runtimeVersion: one(/runtimeVersion: '([^']+)'/, 'runtimeVersion'),
    taskHubName: one(/var taskHubName = '([^']+)'/, 'taskHubName'),
    appSettings,
    params,
  };
}

/** Seconds between two fires of a 6-field NCRONTAB schedule of the forms the sweeper uses. */
export function scheduleIntervalSeconds(schedule: string): number {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`"${schedule}" is not a 6-field NCRONTAB expression`);
  const [sec, min, ...rest] = fields;
  if (rest.some((f) => f !== '*')) throw new Error(`"${schedule}": only second and minute steps are understood`);
  const step = (field: string | undefined): number | undefined => {
    if (field === '*') return 1;
    const m = /^\*\/(\d+)$/.exec(field ?? '');
    return m ? Number(m[1]) : undefined;
  };
  const secondStep = step(sec);
  const minuteStep = step(min);
  if (min === '*' && secondStep) return secondStep;
  if (sec === '0' && minuteStep) return 60 * minuteStep;
  throw new Error(`"${schedule}": not a fixed-interval schedule`);
}
