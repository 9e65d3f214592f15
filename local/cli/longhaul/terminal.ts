/**
 * The one gate between the API's text and the terminal: every string the server sends (job errors, stage messages,
 * model names in usage and limiter keys, ids) is shown through here in human output, so an escape sequence that
 * retitles the window, a CR that overwrites the line or a newline that forges a "job completed" line is printed as
 * visible text (`\x1b`, `\r`, `\n`). --json output is exact JSON: JSON.stringify escapes C0 controls, and showJson also
 * writes DEL, C1 and bidi characters as \\uXXXX (the same value once parsed).
 */
import { escapeControlChars, inertJson } from '../../../shared/safeText';

/** A value as one inert line of terminal text; null and undefined as ''. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return '';
  return escapeControlChars(typeof value === 'string' ? value : typeof value === 'object' ? (JSON.stringify(value) ?? '') : String(value));
}

/** A value as JSON that is safe on a terminal and still parses to the same value (--json output: one line). */
export function showJson(value: unknown, indent: 2 | 0 = 2): string {
  return inertJson(JSON.stringify(value, null, indent || undefined) ?? 'null');
}
