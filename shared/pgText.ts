/**
 * What Postgres cannot store: text and jsonb reject NUL (U+0000), jsonb rejects unpaired UTF-16 surrogates (which
 * JSON.stringify writes as \udxxx escapes), and its parser has a stack-depth limit. Requests holding any of these are
 * 400s naming the field here, instead of 500s from the database.
 */

// Deeper than any real job input; far below where Postgres' jsonb parser (max_stack_depth) or V8's JSON.stringify give up.
export const MAX_JSON_DEPTH = 64;

/**
 * Values one request body may hold (objects, arrays, strings, numbers, literals; object keys are not counted). Memory
 * follows the count, not the bytes: 2 million `{}` are 5.7 MB of text but gigabytes once parsed by V8 or cast to
 * jsonb. The largest documented inputs fit: 200,000 workflow nodes of one input each, or 200,000 transcript segments,
 * are 1.0-1.2 million values.
 */
export const MAX_JSON_VALUES = 2_000_000;

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

/**
 * Whether JSON text holds more than `limit` values, counted in one pass over the text before it is parsed (nothing is
 * built, nothing recurses). Counts what valid JSON holds; invalid text is left for JSON.parse to refuse.
 */
export function jsonValuesOver(text: string, limit: number): boolean {
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      values++;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      // One over is allowed here: a key's string is taken back at its colon.
      if (values > limit + 1) return true;
      continue;
    }
    if (c === 0x3a /* : */) {
      values--; // the string before it was a key
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      values++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39) || c === 0x74 /* t */ || c === 0x66 /* f */ || c === 0x6e /* n */) {
      values++;
      while (i + 1 < text.length && /[0-9a-zA-Z.+-]/.test(text[i + 1]!)) i++;
    } else {
      continue;
    }
    if (values > limit) return true;
  }
  return values > limit;
}
