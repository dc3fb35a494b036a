/**
 * NetFlow v5/v9 and IPFIX, as a collector keeps them: nfcapd files, read through Debian's `nfdump`
 * (`nfdump -r FILE -o json`, or `-R DIR` for a folder of them) as a child process. Its output is
 * parsed as it streams (one JSON object at a time), so neither nfdump's output nor the files are ever
 * held whole; the child is paused while the records are judged (pipe backpressure). Records go through
 * merge.ts (split records and both directions into one connection).
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { canonicalAddress } from '../model/address.js';
import { NetmatrixError } from '../model/errors.js';
import { parseTcpFlags, RecordMerger, type DirectionalRecord } from './merge.js';
import { RecordError, type ConnRecord, type RecordFileSummary } from './record.js';

export const NFDUMP_MISSING = 'nfdump is not installed: install it with `apt-get install nfdump` (Debian), then run again';

export interface NetflowReadOptions {
  onRecord: (rec: ConnRecord) => void;
  isServicePort: (transport: 'tcp' | 'udp', port: number) => boolean;
  onWarning?: (message: string) => void;
}

export interface NetflowStats {
  files: RecordFileSummary[];
  /** Records of other protocols (ICMP...), not judged. */
  otherProto: number;
  merged: number;
  connections: number;
}

/** nfdump's times: "2026-12-01T10:00:00.123" (UTC: the child runs with TZ=UTC) or epoch numbers. */
function nfTime(v: unknown): number | undefined {
  if (typeof v === 'number') return v > 1e11 ? v / 1000 : v;
  if (typeof v !== 'string' || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return nfTime(Number(v));
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  const frac = /\.(\d+)/.exec(v);
  return Math.floor(ms / 1000) + (frac ? Number(`0.${frac[1]}`) : 0);
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

/** One nfdump JSON object -> a directional record; undefined for other protocols; throws on damage. */
export function nfdumpRecord(o: Record<string, unknown>, bad: (detail: string) => RecordError): DirectionalRecord | 'other' | undefined {
  if (o.type !== undefined && o.type !== 'FLOW') return undefined;
  const proto = num(o.proto);
  if (proto !== 6 && proto !== 17) return 'other';
  const srcText = (o.src4_addr ?? o.src6_addr) as string | undefined;
  const dstText = (o.dst4_addr ?? o.dst6_addr) as string | undefined;
  const src = typeof srcText === 'string' ? canonicalAddress(srcText) : undefined;
  const dst = typeof dstText === 'string' ? canonicalAddress(dstText) : undefined;
  if (src === undefined) throw bad(`source address ${JSON.stringify(srcText ?? null)} is not an IP address`);
  if (dst === undefined) throw bad(`destination address ${JSON.stringify(dstText ?? null)} is not an IP address`);
  const sp = num(o.src_port);
  const dp = num(o.dst_port);
  if (sp === undefined || sp > 65535 || dp === undefined || dp > 65535) throw bad('a port is missing or not a port');
  const first = nfTime(o.first ?? o.t_first);
  const last = nfTime(o.last ?? o.t_last) ?? first;
  if (first === undefined || last === undefined) throw bad(`time ${JSON.stringify(o.first ?? null)} is not a time`);
  const rec: DirectionalRecord = {
    transport: proto === 6 ? 'tcp' : 'udp',
    src,
    srcPort: sp,
    dst,
    dstPort: dp,
    first,
    last,
    packets: num(o.in_packets) ?? 0,
    bytes: num(o.in_bytes) ?? 0,
    flags: proto === 6 ? parseTcpFlags(o.tcp_flags) : undefined,
  };
  const outPackets = num(o.out_packets);
  if (outPackets !== undefined && outPackets > 0) {
    rec.outPackets = outPackets;
    rec.outBytes = num(o.out_bytes) ?? 0;
    rec.outFlags = rec.flags;
  }
  return rec;
}

/** Reads nfcapd files or folders through nfdump; each path is one nfdump run, in the order given. */
export async function readNetflow(paths: string[], opts: NetflowReadOptions): Promise<NetflowStats> {
  for (const p of paths) {
    try {
      statSync(p);
    } catch (e) {
      throw new RecordError(p, undefined, `cannot open: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  const merger = new RecordMerger(opts.onRecord, opts.isServicePort);
  const stats: NetflowStats = { files: [], otherProto: 0, merged: 0, connections: 0 };
  for (const p of paths) {
    const summary: RecordFileSummary = { file: p, format: 'nfcapd', records: 0, bytes: 0, complete: true };
    stats.files.push(summary);
    await runNfdump(p, summary, (o, bad) => {
      const r = nfdumpRecord(o, bad);
      if (r === undefined) return;
      summary.records++;
      if (r === 'other') stats.otherProto++;
      else merger.add(r);
    });
    // Not readable at all, before any record: an error before anything is judged.
    if (!summary.complete && stats.files.every((f) => f.records === 0) && summary.stopped) throw summary.stopped;
    if (!summary.complete) break;
  }
  merger.flush();
  stats.merged = merger.stats.merged;
  stats.connections = merger.stats.connections;
  return stats;
}

/** Runs nfdump on one file or folder and hands each JSON object on; damage stops it (summary.stopped). */
async function runNfdump(path: string, summary: RecordFileSummary, onObject: (o: Record<string, unknown>, bad: (detail: string) => RecordError) => void): Promise<void> {
  const dir = statSync(path).isDirectory();
  const child = spawn('nfdump', [dir ? '-R' : '-r', path, '-o', 'json', '-q'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TZ: 'UTC' },
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      spawnError = e as NodeJS.ErrnoException;
      resolve(null);
    });
    child.on('close', (code) => resolve(code));
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString('utf8');
  });
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let object: string[] | undefined;
  let line = 0;
  let objectLine = 0;
  const stop = (e: RecordError): void => {
    summary.complete = false;
    summary.stopped = e;
    child.kill('SIGTERM');
  };
  try {
    const lines = async function* (): AsyncGenerator<string[]> {
      for await (const chunk of child.stdout) {
        summary.bytes += (chunk as Buffer).length;
        const parts = (rest + decoder.write(chunk as Buffer)).split('\n');
        rest = parts.pop() ?? '';
        if (rest.length > 1024 * 1024) throw new RecordError(path, line + 1, 'nfdump wrote a line longer than 1 MiB');
        yield parts;
      }
      // The last line may have no newline after it.
      const last = rest + decoder.end();
      if (last !== '') yield [last];
    };
    for await (const parts of lines()) {
      for (const raw of parts) {
        line++;
        const t = raw.trim();
        if (object === undefined) {
          if (t === '{') {
            object = ['{'];
            objectLine = line;
          }
          continue; // "[", "]", blank
        }
        if (t === '}' || t === '},') {
          object.push('}');
          let o: unknown;
          try {
            o = JSON.parse(object.join('\n'));
          } catch {
            throw new RecordError(path, objectLine, `nfdump's record ${summary.records + 1} (line ${objectLine} of its output) is not JSON`);
          }
          object = undefined;
          onObject(o as Record<string, unknown>, (detail) => new RecordError(path, undefined, `record ${summary.records + 1}: ${detail}`));
          continue;
        }
        object.push(raw);
        if (object.length > 1000) throw new RecordError(path, objectLine, `nfdump's record ${summary.records + 1} has more than 1000 lines`);
      }
    }
  } catch (e) {
    if (!(e instanceof RecordError)) {
      if (spawnError?.code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOENT') throw new NetmatrixError('nfdump-missing', NFDUMP_MISSING);
      throw e;
    }
    stop(e);
  }
  const code = await exited;
  if (spawnError) {
    if (spawnError.code === 'ENOENT') throw new NetmatrixError('nfdump-missing', NFDUMP_MISSING);
    throw new RecordError(path, undefined, `cannot run nfdump: ${spawnError.message}`);
  }
  // nfdump exits 0 on a file it cannot read ("bad magic", "appendix offset error"): its stderr says so.
  const complaint = stderr.split('\n').find((l) => /error|bad magic|corrupt|fail|cannot|can't|unable|truncat/i.test(l));
  if (summary.complete && complaint !== undefined) {
    summary.complete = false;
    summary.stopped = new RecordError(path, undefined, `nfdump could not read it after ${summary.records} records: ${complaint.trim()}`);
  } else if (summary.complete && code !== 0) {
    const why = stderr.split('\n').find((l) => l.trim() !== '') ?? `exit status ${code}`;
    summary.complete = false;
    summary.stopped = new RecordError(path, undefined, `nfdump failed after ${summary.records} records: ${why.trim()}`);
  } else if (summary.complete && object !== undefined) {
    summary.complete = false;
    summary.stopped = new RecordError(path, objectLine, `nfdump's output ends inside record ${summary.records + 1}`);
  }
}
