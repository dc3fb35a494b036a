/**
 * A firewall's or collector's own CSV export of flows: one row per flow record, columns found by their
 * header name (case, spaces, dashes and underscores do not matter; CSV_COLUMNS lists the names and
 * aliases accepted), comma, semicolon or tab separated, quoted fields as RFC 4180 writes them, plain
 * or gzip. Rows go through merge.ts like NetFlow records.
 */
import { canonicalAddress } from '../model/address.js';
import { LineReader } from './lines.js';
import { parseTcpFlags, RecordMerger, type DirectionalRecord } from './merge.js';
import { RecordError, type ConnRecord, type RecordFileSummary } from './record.js';

/** Column -> the header names accepted for it (the first is the documented name). */
export const CSV_COLUMNS = {
  src: ['src', 'srcaddr', 'src_addr', 'src_ip', 'srcip', 'source', 'source_address', 'source_ip', 'sa', 'src4_addr', 'src6_addr', 'orig_h', 'id.orig_h'],
  dst: ['dst', 'dstaddr', 'dst_addr', 'dst_ip', 'dstip', 'destination', 'destination_address', 'destination_ip', 'da', 'dst4_addr', 'dst6_addr', 'resp_h', 'id.resp_h'],
  sport: ['sport', 'src_port', 'srcport', 'source_port', 'sp', 'orig_p', 'id.orig_p'],
  dport: ['dport', 'dst_port', 'dstport', 'destination_port', 'dp', 'service_port', 'resp_p', 'id.resp_p'],
  proto: ['proto', 'protocol', 'pr', 'ip_protocol', 'transport'],
  start: ['start', 'first', 'ts', 'start_time', 'first_seen', 'time', 'timestamp', 'date', 'flow_start'],
  end: ['end', 'last', 'te', 'end_time', 'last_seen', 'flow_end'],
  duration: ['duration', 'td', 'elapsed', 'elapsed_time'],
  packets: ['packets', 'pkts', 'ipkt', 'in_packets', 'packets_sent', 'sent_packets', 'orig_pkts'],
  bytes: ['bytes', 'octets', 'ibyt', 'in_bytes', 'bytes_sent', 'sent_bytes', 'orig_bytes'],
  outPackets: ['out_packets', 'opkt', 'packets_received', 'rcvd_packets', 'received_packets', 'resp_pkts'],
  outBytes: ['out_bytes', 'obyt', 'bytes_received', 'rcvd_bytes', 'received_bytes', 'resp_bytes'],
  flags: ['flags', 'tcp_flags', 'flg'],
} as const;
type Column = keyof typeof CSV_COLUMNS;
const REQUIRED: Column[] = ['src', 'dst', 'dport', 'proto', 'start'];

const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Splits one CSV line; quoted fields may hold the separator and doubled quotes. */
export function splitCsv(line: string, sep: string): string[] | undefined {
  if (!line.includes('"')) return line.split(sep);
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined; // unterminated quote
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      if (i >= line.length) return out;
      if (line.slice(i, i + sep.length) !== sep) return undefined;
      i += sep.length;
    } else {
      const n = line.indexOf(sep, i);
      if (n < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, n));
      i = n + sep.length;
    }
  }
}

/** "2026-12-01 10:00:00.123" / ISO 8601 (UTC unless a zone is given) / epoch seconds or milliseconds. */
export function csvTime(v: string): number | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    return n > 1e11 ? n / 1000 : n;
  }
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t.replace(' ', 'T') : `${t.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  const frac = /:\d\d\.(\d+)/.exec(t);
  return Math.floor(ms / 1000) + (frac ? Number(`0.${frac[1]}`) : 0);
}

export interface CsvReadOptions {
  onRecord: (rec: ConnRecord) => void;
  isServicePort: (transport: 'tcp' | 'udp', port: number) => boolean;
}

export interface CsvStats {
  files: RecordFileSummary[];
  otherProto: number;
  merged: number;
  connections: number;
}

export async function readNetflowCsv(files: string[], opts: CsvReadOptions): Promise<CsvStats> {
  const merger = new RecordMerger(opts.onRecord, opts.isServicePort);
  const stats: CsvStats = { files: [], otherProto: 0, merged: 0, connections: 0 };
  for (const file of files) {
    const reader = new LineReader(file);
    const summary: RecordFileSummary = { file, format: 'csv', records: 0, bytes: 0, complete: true };
    stats.files.push(summary);
    let sep = ',';
    let index: Partial<Record<Column, number>> | undefined;
    let width = 0;
    try {
      let over = false;
      while (!over && (await reader.fill())) {
        for (let line = reader.next(); line !== undefined; line = reader.next()) {
          if (line.trim() === '' || line.startsWith('#')) continue;
          // nfdump -o csv (without -q) ends with its own summary block: the records are over.
          if (index !== undefined && line.trim() === 'Summary') {
            over = true;
            break;
          }
          if (index === undefined) {
            sep = [',', ';', '\t'].map((s) => ({ s, n: line.split(s).length })).sort((a, b) => b.n - a.n)[0]?.s ?? ',';
            const names = (splitCsv(line, sep) ?? []).map(norm);
            index = {};
            for (const [col, aliases] of Object.entries(CSV_COLUMNS) as [Column, readonly string[]][]) {
              const i = names.findIndex((n) => aliases.some((a) => norm(a) === n));
              if (i >= 0) index[col] = i;
            }
            const missing = REQUIRED.filter((c) => index?.[c] === undefined);
            if (missing.length > 0) {
              throw Object.assign(new RecordError(file, reader.line, `the CSV header has no ${missing.map((c) => `${c} column (${CSV_COLUMNS[c].slice(0, 4).join(', ')}, ...)`).join(', no ')}`), { header: true });
            }
            width = names.length;
            continue;
          }
          const values = splitCsv(line, sep);
          if (values === undefined || values.length !== width) {
            throw new RecordError(file, reader.line, `corrupt line: ${values === undefined ? 'an unterminated quote' : `${values.length} columns where the header has ${width}`}`);
          }
          const r = csvRecord(values, index, (d) => new RecordError(file, reader.line, `corrupt line: ${d}`));
          summary.records++;
          if (r === 'other') stats.otherProto++;
          else merger.add(r);
        }
      }
      reader.close();
      if (index === undefined) throw Object.assign(new RecordError(file, undefined, 'empty: no CSV header'), { header: true });
    } catch (e) {
      reader.close();
      if (!(e instanceof RecordError) || (e as RecordError & { header?: boolean }).header) throw e;
      summary.complete = false;
      summary.stopped = e;
    }
    summary.bytes = reader.bytes;
    if (!summary.complete) break;
  }
  merger.flush();
  stats.merged = merger.stats.merged;
  stats.connections = merger.stats.connections;
  return stats;
}

function csvRecord(values: string[], index: Partial<Record<Column, number>>, bad: (d: string) => RecordError): DirectionalRecord | 'other' {
  const get = (c: Column): string | undefined => {
    const i = index[c];
    if (i === undefined) return undefined;
    const v = (values[i] as string).trim();
    return v === '' || v === '-' ? undefined : v;
  };
  const protoText = (get('proto') ?? '').toLowerCase();
  const transport = protoText === 'tcp' || protoText === '6' ? 'tcp' : protoText === 'udp' || protoText === '17' ? 'udp' : undefined;
  if (transport === undefined) {
    if (protoText === '') throw bad('no protocol');
    return 'other';
  }
  const src = canonicalAddress(get('src') ?? '');
  const dst = canonicalAddress(get('dst') ?? '');
  if (src === undefined) throw bad(`source ${JSON.stringify(get('src') ?? '')} is not an IP address`);
  if (dst === undefined) throw bad(`destination ${JSON.stringify(get('dst') ?? '')} is not an IP address`);
  const port = (c: Column, fallback?: number): number => {
    const v = get(c);
    if (v === undefined && fallback !== undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad(`${c} ${JSON.stringify(v ?? '')} is not a port`);
    return n;
  };
  const count = (c: Column): number | undefined => {
    const v = get(c);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw bad(`${c} ${JSON.stringify(v)} is not a count`);
    return n;
  };
  const first = csvTime(get('start') ?? '');
  if (first === undefined) throw bad(`start ${JSON.stringify(get('start') ?? '')} is not a time`);
  let last = first;
  const endText = get('end');
  if (endText !== undefined) {
    const e = csvTime(endText);
    if (e === undefined) throw bad(`end ${JSON.stringify(endText)} is not a time`);
    last = e;
  } else {
    const d = count('duration');
    if (d !== undefined) last = first + d;
  }
  const flagsText = get('flags');
  const flags = transport === 'tcp' && flagsText !== undefined ? parseTcpFlags(flagsText) : undefined;
  if (flagsText !== undefined && transport === 'tcp' && flags === undefined) throw bad(`flags ${JSON.stringify(flagsText)} are not TCP flags`);
  const rec: DirectionalRecord = {
    transport,
    src,
    srcPort: port('sport', 0),
    dst,
    dstPort: port('dport'),
    first,
    last: Math.max(first, last),
    // A row is at least one packet when the export has no packet count.
    packets: index.packets === undefined ? 1 : (count('packets') ?? 0),
    bytes: count('bytes') ?? 0,
    flags,
  };
  const outBytes = count('outBytes');
  const outPackets = count('outPackets') ?? (index.outPackets === undefined && outBytes !== undefined && outBytes > 0 ? 1 : undefined);
  if (outPackets !== undefined && outPackets > 0) {
    rec.outPackets = outPackets;
    rec.outBytes = outBytes ?? 0;
    rec.outFlags = flags;
  }
  return rec;
}
