/**
 * Characters that act instead of showing: a job error, a model name or a stage message is text a user controls, and
 * a terminal, a log line or a chat message must show it, never obey it. Each medium escapes for itself (the CLI's
 * output layer, shared/log.ts, shared/notify.ts); this is the one definition of what they all escape first.
 */

/**
 * C0 controls (ESC starts the sequences that retitle a window or move the cursor; CR overwrites a line; LF forges
 * one), DEL, C1 controls (U+009B is a one-character CSI to a terminal that reads C1), the Unicode line and paragraph
 * separators, and the bidirectional overrides and isolates that reorder what a reader sees.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ACTING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const ACTING_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every acting character shown as a visible escape (`\n`, `\r`, `\x1b`, `\u202e`): one line, inert. */
export function escapeControlChars(text: string): string {
  return text.replace(ACTING, visible);
}

/**
 * JSON text with the acting characters JSON.stringify leaves as they are (DEL, C1, separators, bidi) also written as
 * `\uXXXX`: still JSON that parses to the same value, safe to print to a terminal.
 */
export function inertJson(json: string): string {
  // JSON.stringify already escapes C0 inside strings (the newlines left are layout); none of these characters can
  // stand outside a string, so every match is inside one, where \uXXXX is legal.
  return json.replace(ACTING_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
