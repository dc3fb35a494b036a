/** The date part of the last second formatted: consecutive flows share it (a hot path of the JSON report). */
let cachedSec = NaN;
let cachedPrefix = '';

/** Packet time (float seconds since the epoch) as ISO 8601 UTC with microseconds. */
export function isoTime(ts: number): string {
  if (!Number.isFinite(ts)) return '';
  let sec = Math.floor(ts);
  let micros = Math.round((ts - sec) * 1e6);
  if (micros >= 1e6) {
    sec += 1;
    micros -= 1e6;
  }
  if (sec !== cachedSec) {
    const date = new Date(sec * 1000);
    if (Number.isNaN(date.getTime())) return String(ts);
    cachedSec = sec;
    cachedPrefix = date.toISOString().slice(0, 19);
  }
  return `${cachedPrefix}.${String(micros).padStart(6, '0')}Z`;
}
