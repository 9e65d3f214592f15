/**
 * ASP.NET Core route templates as the Functions host matches HTTP trigger routes: literals (case-insensitive),
 * `{name}`, optional `{name?}`, defaults `{name=value}`, catch-all `{*rest}` / `{**rest}`, inline constraints
 * (`{id:int}`, `{id:int:min(1)}`, `{s:regex(^a+$)}`) and several parameters in one segment (`{a}.{b}`).
 * Hand-written because no maintained JavaScript library implements this grammar (path-to-regexp's differs).
 */

type Constraint = (value: string) => boolean;

interface Param {
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  constraints: Constraint[];
}

type Part = { kind: 'literal'; text: string } | { kind: 'param'; param: Param };

/** A compiled template: `match` returns route params, or undefined when the path does not match. */
export interface CompiledRoute {
  template: string;
  match(path: string): Record<string, string> | undefined;
  /** Per segment: 0 literal, 1 constrained param or mixed, 2 plain param, 3 catch-all (lower sorts first). */
  precedence: number[];
}

const numberRe = /^-?\d+$/;
const guidRe = /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;
const decimalRe = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function constraint(spec: string): Constraint {
  const match = /^([a-z]+)(?:\((.*)\))?$/is.exec(spec);
  if (!match) throw new Error(`invalid route constraint "${spec}"`);
  const name = match[1]!.toLowerCase();
  const args = match[2] === undefined ? [] : name === 'regex' ? [match[2]] : match[2].split(',').map((a) => a.trim());
  const num = (i: number): number => {
    const n = Number(args[i]);
    if (args[i] === undefined || Number.isNaN(n)) throw new Error(`route constraint "${spec}" needs a numeric argument`);
    return n;
  };
  switch (name) {
    case 'int':
      return (v) => numberRe.test(v) && Math.abs(Number(v)) <= 2 ** 31;
    case 'long':
      return (v) => numberRe.test(v);
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'guid':
      return (v) => guidRe.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'decimal':
    case 'double':
    case 'float':
      return (v) => decimalRe.test(v);
    case 'min': {
      const min = num(0);
      return (v) => numberRe.test(v) && Number(v) >= min;
    }
    case 'max': {
      const max = num(0);
      return (v) => numberRe.test(v) && Number(v) <= max;
    }
    case 'range': {
      const [min, max] = [num(0), num(1)];
      return (v) => numberRe.test(v) && Number(v) >= min && Number(v) <= max;
    }
    case 'length': {
      const [min, max] = args.length === 1 ? [num(0), num(0)] : [num(0), num(1)];
      return (v) => v.length >= min && v.length <= max;
    }
    case 'minlength': {
      const min = num(0);
      return (v) => v.length >= min;
    }
    case 'maxlength': {
      const max = num(0);
      return (v) => v.length <= max;
    }
    case 'regex': {
      // ASP.NET regex constraints are case-insensitive, must match the whole value, and double braces to escape them.
      const re = new RegExp(`^(?:${(args[0] ?? '').replace(/\{\{/g, '{').replace(/\}\}/g, '}')})$`, 'i');
      return (v) => re.test(v);
    }
    default:
      throw new Error(`unknown route constraint "${name}"`);
  }
}

/** Splits "{id:regex(a:b)}" into name, constraints and default, honouring parentheses inside constraints. */
function parseParam(body: string): Param {
  let catchAll = false;
  let text = body;
  if (text.startsWith('**')) [catchAll, text] = [true, text.slice(2)];
  else if (text.startsWith('*')) [catchAll, text] = [true, text.slice(1)];
  const pieces: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ':' && depth === 0) {
      pieces.push(current);
      current = '';
    } else current += ch;
  }
  pieces.push(current);
  let name = pieces[0] ?? '';
  const rest = pieces.slice(1);
  let optional = false;
  let defaultValue: string | undefined;
  const last = rest.length ? rest[rest.length - 1]! : name;
  const eq = last.indexOf('=');
  let tail = last;
  if (eq >= 0 && (rest.length === 0 || !last.startsWith('regex('))) {
    defaultValue = last.slice(eq + 1);
    tail = last.slice(0, eq);
  }
  if (tail.endsWith('?')) {
    optional = true;
    tail = tail.slice(0, -1);
  }
  if (rest.length) rest[rest.length - 1] = tail;
  else name = tail;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid route parameter name "${name}"`);
  return { name, optional, catchAll, defaultValue, constraints: rest.map(constraint) };
}

function parseSegment(segment: string, template: string): Part[] {
  const parts: Part[] = [];
  let i = 0;
  while (i < segment.length) {
    if (segment[i] === '{') {
      let depth = 0;
      let j = i;
      for (; j < segment.length; j++) {
        if (segment[j] === '(') depth++;
        else if (segment[j] === ')') depth--;
        else if (segment[j] === '}' && depth === 0) break;
      }
      if (j >= segment.length) throw new Error(`unbalanced "{" in route template "${template}"`);
      parts.push({ kind: 'param', param: parseParam(segment.slice(i + 1, j)) });
      i = j + 1;
    } else {
      const next = segment.indexOf('{', i);
      const text = segment.slice(i, next < 0 ? undefined : next);
      if (text.includes('}')) throw new Error(`unbalanced "}" in route template "${template}"`);
      parts.push({ kind: 'literal', text });
      i = next < 0 ? segment.length : next;
    }
  }
  return parts;
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compileRoute(template: string): CompiledRoute {
  const segments = template.replace(/^\/+|\/+$/g, '').split('/').filter((s, idx, all) => s.length > 0 || all.length === 1);
  const parsed = segments.filter((s) => s.length > 0).map((s) => parseSegment(s, template));
  const params: Param[] = [];
  parsed.forEach((parts, index) => {
    for (const part of parts) {
      if (part.kind !== 'param') continue;
      if (params.some((p) => p.name.toLowerCase() === part.param.name.toLowerCase())) throw new Error(`duplicate route parameter "${part.param.name}" in "${template}"`);
      const isLast = index === parsed.length - 1 && parts[parts.length - 1] === part;
      if (part.param.catchAll && !isLast) throw new Error(`a catch-all parameter must be last in "${template}"`);
      if (part.param.optional && !isLast) throw new Error(`an optional parameter must be last in "${template}"`);
      params.push(part.param);
    }
  });

  // Build one regex: each segment is "/(...)"; a trailing optional/default/catch-all segment may be absent.
  let source = '';
  parsed.forEach((parts, index) => {
    const single = parts.length === 1 ? parts[0] : undefined;
    const lastSegment = index === parsed.length - 1;
    let body = '';
    for (const part of parts) {
      if (part.kind === 'literal') body += escapeRe(part.text);
      else body += part.param.catchAll ? '(.*)' : parts.length === 1 ? '([^/]+)' : '([^/]+?)';
    }
    const mayBeAbsent = lastSegment && single?.kind === 'param' && (single.param.optional || single.param.defaultValue !== undefined || single.param.catchAll);
    source += mayBeAbsent ? `(?:/${body})?` : `/${body}`;
  });
  const regex = new RegExp(`^${source}/?$`, 'i');
  const precedence = parsed.map((parts) => {
    const single = parts.length === 1 ? parts[0] : undefined;
    if (single?.kind === 'literal') return 0;
    if (single?.kind === 'param') return single.param.catchAll ? 3 : single.param.constraints.length ? 1 : 2;
    return 1;
  });

  return {
    template,
    precedence,
    match(path: string): Record<string, string> | undefined {
      const normalised = `/${path.replace(/^\/+/, '')}`.replace(/^\/$/, '');
      const m = regex.exec(normalised);
      if (!m) return undefined;
      const values: Record<string, string> = {};
      for (let i = 0; i < params.length; i++) {
        const param = params[i]!;
        const raw = m[i + 1];
        let value: string | undefined;
        try {
          value = raw === undefined || raw === '' ? undefined : decodeURIComponent(raw);
        } catch {
          return undefined;
        }
        if (value === undefined) {
          if (param.defaultValue !== undefined) values[param.name] = param.defaultValue;
          else if (!param.optional && !param.catchAll) return undefined;
          continue;
        }
        if (!param.constraints.every((c) => c(value))) return undefined;
        values[param.name] = value;
      }
      return values;
    },
  };
}

/** Orders routes as ASP.NET does: segment by segment, literals before constrained before plain before catch-all. */
export function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const pa = a.precedence[i] ?? -1;
    const pb = b.precedence[i] ?? -1;
    if (pa !== pb) return pa === -1 ? 1 : pb === -1 ? -1 : pa - pb;
  }
  return a.template.localeCompare(b.template);
}
