/**
 * What Postgres cannot store: text and jsonb reject NUL (U+0000), jsonb rejects unpaired UTF-16 surrogates (which
 * JSON.stringify writes as \udxxx escapes), and its parser has a stack-depth limit. Requests holding any of these are
 * 400s naming the field here, instead of 500s from the database.
 */

// Deeper than any real job input; far below where Postgres' jsonb parser (max_stack_depth) or V8's JSON.stringify give up.
export const MAX_JSON_DEPTH = 64;

// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL (\\u0000) or unpaired surrogate characters';

/** Whether Postgres can store the string as text or inside jsonb. */
export function isStorableText(s: string): boolean {
  return !UNSTORABLE.test(s);
}

/** The first problem that keeps a JSON value out of jsonb, as {path, message}, or undefined when it can be stored. */
export function jsonbProblem(value: unknown, root: string): { path: string; message: string } | undefined {
  // Iterative: a hostile body nests tens of thousands of levels, which recursion would not survive.
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string') {
      if (!isStorableText(item.value)) return { path: item.path, message: UNSTORABLE_TEXT_MESSAGE };
    } else if (item.value !== null && typeof item.value === 'object') {
      if (item.depth >= MAX_JSON_DEPTH) return { path: item.path, message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
      if (Array.isArray(item.value)) {
        item.value.forEach((v, i) => stack.push({ value: v, path: `${item.path}[${i}]`, depth: item.depth + 1 }));
      } else {
        for (const [k, v] of Object.entries(item.value)) {
          if (!isStorableText(k)) return { path: `${item.path}.${printable(k)}`, message: `key ${UNSTORABLE_TEXT_MESSAGE}` };
          stack.push({ value: v, path: `${item.path}.${k}`, depth: item.depth + 1 });
        }
      }
    }
  }
  return undefined;
}

/** The string with what cannot be shown or stored replaced by '?' (for error paths). */
function printable(s: string): string {
  return [...s].map((c) => (c === '\u0000' || /^[\ud800-\udfff]$/.test(c) ? '?' : c)).join('');
}
