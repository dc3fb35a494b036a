/**
 * Strings taken from packets are data. For terminals: every control character (C0, DEL, C1), the
 * Unicode line/paragraph separators and the bidirectional overrides become visible escapes, so a
 * crafted SNI cannot move the cursor, recolour the screen or reorder what a reviewer reads.
 */
// U+061C ARABIC LETTER MARK is a bidi mark like U+200E/U+200F: escaped here and in JSON_EXTRA.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g;

function escapeChar(c: string): string {
  if (c === '\\') return '\\\\';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** For text output (tables, markdown cells, stderr lines). */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

// eslint-disable-next-line no-control-regex
const JSON_EXTRA = /[\u007f-\u009f\u061c\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify escapes C0 controls, quotes and backslashes; this also escapes DEL, C1 controls
 * (0x9b is a CSI on some terminals), line separators and bidi overrides, so a report can be printed
 * to a terminal as it is.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_EXTRA, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
