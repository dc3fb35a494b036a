/** Packet time (float seconds since the epoch) as ISO 8601 UTC with microseconds. */
export function isoTime(ts: number): string {
  if (!Number.isFinite(ts)) return '';
  let sec = Math.floor(ts);
  let micros = Math.round((ts - sec) * 1e6);
  if (micros >= 1e6) {
    sec += 1;
    micros -= 1e6;
  }
  const date = new Date(sec * 1000);
  if (Number.isNaN(date.getTime())) return String(ts);
  return `${date.toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}
