/**
 * The date part of recently formatted seconds, in a small direct-mapped cache: a flow's start and end
 * usually fall in different seconds, and the JSON report formats both for every flow (a hot path).
 */
const CACHE_SIZE = 256;
const cachedSecs = new Float64Array(CACHE_SIZE).fill(Number.NaN);
const cachedPrefixes: string[] = new Array<string>(CACHE_SIZE).fill('');
const PAD = ['', '0', '00', '000', '0000', '00000', '000000'];

/**
 * Packet time (float seconds since the epoch) as ISO 8601 UTC with microseconds. Only digits, "-",
 * "T", ":", "." and "Z" (or a number, or "" when not finite): reports quote it without escaping.
 */
export function isoTime(ts: number): string {
  if (!Number.isFinite(ts)) return '';
  let sec = Math.floor(ts);
  let micros = Math.round((ts - sec) * 1e6);
  if (micros >= 1e6) {
    sec += 1;
    micros -= 1e6;
  }
  const slot = sec & (CACHE_SIZE - 1);
  let prefix: string;
  if (cachedSecs[slot] === sec) {
    prefix = cachedPrefixes[slot] as string;
  } else {
    const date = new Date(sec * 1000);
    if (Number.isNaN(date.getTime())) return String(ts);
    prefix = date.toISOString().slice(0, 19);
    cachedSecs[slot] = sec;
    cachedPrefixes[slot] = prefix;
  }
  const digits = String(micros);
  return `${prefix}.${PAD[6 - digits.length]}${digits}Z`;
}
