/**
 * Zeek's logs: conn.log (the connections), ssl.log and http.log (joined to them by `uid`), in Zeek's
 * TSV format (`#separator`, `#fields`, `#unset_field`, `#empty_field`, `\xNN` escapes, several header
 * blocks in one file) or its JSON format (one object per line), plain or gzip.
 *
 * Files may come in any order and any number (a day of rotated logs): they are read together, the
 * file whose next record is earliest first, so a conn.log and the ssl.log of the same hour advance
 * side by side. A connection whose `service` says ssl or http waits for its ssl.log / http.log record
 * at most 300 s of log time (READ_AHEAD) after the latest time read, and ssl/http records wait as long
 * for their connection; at most 500,000 of each wait (PENDING_MAX), the oldest go first. Memory
 * follows those bounds, not the size of the logs.
 */
import { canonicalAddress } from '../model/address.js';
import { LineReader } from './lines.js';
import { CONN_STATES, type ConnState } from '../model/vocabulary.js';
import { openFromState, RecordError, type ConnRecord, type RecordFileSummary } from './record.js';

/** Seconds of log time a record waits for its partner (ssl/http <-> conn). */
export const READ_AHEAD = 300;
/** Records waiting at most, per kind (connections, ssl, http). */
export const PENDING_MAX = 500_000;

type Kind = 'conn' | 'ssl' | 'http';

const REQUIRED: Record<Kind, string[]> = {
  conn: ['ts', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'conn_state'],
  ssl: ['ts', 'uid'],
  http: ['ts', 'uid'],
};

interface ConnLine {
  kind: 'conn';
  ts: number;
  uid: string | undefined;
  rec: ConnRecord;
}
interface SslLine {
  kind: 'ssl';
  ts: number;
  uid: string;
  tls: NonNullable<ConnRecord['tls']>;
}
interface HttpLine {
  kind: 'http';
  ts: number;
  uid: string;
  http: NonNullable<ConnRecord['http']>;
}
type Line = ConnLine | SslLine | HttpLine;

/** The fields read, by position in FIELDS (a file maps each to its column, or -1). */
const FIELDS = [
  'ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration',
  'orig_bytes', 'resp_bytes', 'orig_ip_bytes', 'resp_ip_bytes', 'orig_pkts', 'resp_pkts', 'conn_state',
  'history', 'version', 'server_name', 'next_protocol', 'method', 'host', 'uri', 'ip_proto',
] as const;
const F_TS = 0, F_UID = 1, F_ORIG_H = 2, F_ORIG_P = 3, F_RESP_H = 4, F_RESP_P = 5, F_PROTO = 6, F_SERVICE = 7, F_DURATION = 8;
const F_ORIG_BYTES = 9, F_RESP_BYTES = 10, F_ORIG_IP_BYTES = 11, F_RESP_IP_BYTES = 12, F_ORIG_PKTS = 13, F_RESP_PKTS = 14;
const F_CONN_STATE = 15, F_HISTORY = 16, F_VERSION = 17, F_SERVER_NAME = 18, F_NEXT_PROTOCOL = 19, F_METHOD = 20, F_HOST = 21, F_URI = 22;
const F_IP_PROTO = 23;
/** JSON lines: values come in FIELDS order. */
const IDENTITY = Int32Array.from(FIELDS, (_, i) => i);

const STATES: ReadonlySet<string> = new Set(CONN_STATES);

/** Zeek's ssl.log version names -> the names the packet path writes. */
const TLS_VERSIONS: Record<string, string> = {
  SSLv2: 'SSLv2',
  SSLv3: 'SSLv3',
  TLSv10: 'TLSv1.0',
  TLSv11: 'TLSv1.1',
  TLSv12: 'TLSv1.2',
  TLSv13: 'TLSv1.3',
};

/** Undoes Zeek's escapes: `\xNN` (a byte) and `\\`; the bytes are read as UTF-8. */
export function zeekUnescape(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (c === 0x5c && s[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 1;
    } else if (c < 0x80) bytes.push(c);
    else {
      const cp = s.codePointAt(i) as number;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The separator line's value: `\x09` and other escapes, or the character itself. */
function headerValue(v: string): string {
  return v.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

const addressCache = new Map<string, string | undefined>();
function address(text: string): string | undefined {
  let a = addressCache.get(text);
  if (a === undefined && !addressCache.has(text)) {
    a = canonicalAddress(text);
    if (addressCache.size > 65536) addressCache.clear();
    addressCache.set(text, a);
  }
  return a;
}

function kindOf(path: string | undefined, fields: Iterable<string>): Kind | undefined {
  if (path === 'conn' || path === 'ssl' || path === 'http') return path;
  if (path !== undefined && path !== '') return undefined;
  const f = new Set(fields);
  if (f.has('conn_state')) return 'conn';
  if (f.has('server_name') || f.has('next_protocol') || f.has('cipher')) return 'ssl';
  if (f.has('method') && f.has('host')) return 'http';
  return undefined;
}

/** One Zeek log file, record by record. */
class ZeekFile {
  readonly summary: RecordFileSummary;
  kind: Kind | undefined;
  head: Line | undefined;
  done = false;
  private readonly reader: LineReader;
  private format: 'zeek-tsv' | 'zeek-json' | undefined;
  private separator = '\t';
  private unset = '-';
  private empty = '(empty)';
  private path: string | undefined;
  /** FIELDS position -> column of the current line's values (-1: absent). */
  private pos: Int32Array = new Int32Array(FIELDS.length).fill(-1);
  private fieldCount = 0;
  /** The line being read: its values, whether they are TSV (escaped, unset/empty markers), its number. */
  private vals: (string | undefined)[] = [];
  private tsv = true;
  private lineNo = 0;
  /** Lines of another log (dns.log...): skipped whole. */
  private other = false;
  /** conn.log lines of other protocols (icmp...). */
  otherProto = 0;

  constructor(
    readonly file: string,
    private readonly onOther: (file: string, path: string) => void,
  ) {
    this.reader = new LineReader(file);
    this.summary = { file, format: 'zeek', records: 0, bytes: 0, complete: true };
  }

  /** Moves `head` to the next record: 'ok', 'need' (await fill()), or 'done'. Damage stops the file. */
  step(): 'ok' | 'need' | 'done' {
    if (this.done) return 'done';
    for (;;) {
      const line = this.reader.next();
      if (line === undefined) return 'need';
      try {
        const parsed = this.parse(line);
        if (parsed === undefined) continue;
        this.head = parsed;
        this.summary.records++;
        return 'ok';
      } catch (e) {
        if (!(e instanceof RecordError) || this.summary.records === 0 && this.isHeaderError(e)) throw e;
        this.stop(e);
        return 'done';
      }
    }
  }

  private headerErrors = new WeakSet<RecordError>();
  private isHeaderError(e: RecordError): boolean {
    return this.headerErrors.has(e);
  }

  /** Reads more lines; then step() again. */
  async fill(): Promise<void> {
    try {
      if (!(await this.reader.fill())) this.finish();
    } catch (e) {
      if (!(e instanceof RecordError) || (this.summary.records === 0 && this.isHeaderError(e))) throw e;
      this.stop(e);
    }
    this.summary.bytes = this.reader.bytes;
  }

  /** The next record, awaiting reads as needed; `head` undefined at the end. */
  async advance(): Promise<void> {
    this.head = undefined;
    for (;;) {
      const r = this.step();
      if (r !== 'need') return;
      await this.fill();
      if (this.done) return;
    }
  }

  private finish(): void {
    this.done = true;
    this.head = undefined;
    this.reader.close();
    this.summary.bytes = this.reader.bytes;
    if (this.format === undefined && this.summary.complete) {
      throw this.headerError(undefined, 'empty: not a Zeek log');
    }
  }

  private stop(e: RecordError): void {
    this.summary.complete = false;
    this.summary.stopped = e;
    this.done = true;
    this.head = undefined;
    this.reader.close();
  }

  private headerError(line: number | undefined, detail: string): RecordError {
    const e = new RecordError(this.file, line, detail);
    this.headerErrors.add(e);
    return e;
  }

  private parse(line: string): Line | undefined {
    if (line === '') return undefined;
    const lineNo = this.reader.line;
    if (this.format === undefined) {
      if (line.startsWith('#')) this.format = 'zeek-tsv';
      else if (line.startsWith('{')) this.format = 'zeek-json';
      else throw this.headerError(lineNo, 'not a Zeek log: no #separator/#fields header and not a JSON object');
      this.summary.format = this.format;
    }
    if (this.format === 'zeek-json') return this.parseJson(line, lineNo);
    if (line.charCodeAt(0) === 0x23 /* # */) {
      this.header(line, lineNo);
      return undefined;
    }
    if (this.fieldCount === 0) throw this.headerError(lineNo, 'a record before any #fields header line');
    if (this.other) return undefined;
    const values = line.split(this.separator);
    if (values.length !== this.fieldCount) {
      throw new RecordError(this.file, lineNo, `corrupt line: ${values.length} fields where #fields names ${this.fieldCount}`);
    }
    this.vals = values;
    this.tsv = true;
    this.lineNo = lineNo;
    return this.line(this.kind as Kind);
  }

  /** The current line's field (FIELDS position): undefined when unset or absent, '' when empty. */
  private get(f: number): string | undefined {
    const i = this.pos[f] as number;
    if (i < 0) return undefined;
    const v = this.vals[i];
    if (v === undefined || !this.tsv) return v;
    if (v === this.unset) return undefined;
    if (v === this.empty) return '';
    return v.indexOf('\\') >= 0 ? zeekUnescape(v) : v;
  }

  private bad(detail: string): RecordError {
    return new RecordError(this.file, this.lineNo, `corrupt line: ${detail}`);
  }

  /** A count field (0 when unset). */
  private count(f: number, fallback = -1): number {
    let v = this.get(f);
    if (v === undefined && fallback >= 0) v = this.get(fallback);
    if (v === undefined || v === '') return 0;
    const n = +v;
    if (!(n >= 0) || n === Infinity) throw this.bad(`${FIELDS[f]} ${JSON.stringify(v)} is not a count`);
    return n;
  }

  private header(line: string, lineNo: number): void {
    if (line.startsWith('#separator ')) {
      this.separator = headerValue(line.slice('#separator '.length));
      return;
    }
    const parts = line.split(this.separator);
    const key = parts[0];
    if (key === '#unset_field') this.unset = parts[1] ?? this.unset;
    else if (key === '#empty_field') this.empty = parts[1] ?? this.empty;
    else if (key === '#path') this.path = parts[1];
    else if (key === '#fields') {
      const fields = parts.slice(1);
      if (fields.length === 0) throw this.headerError(lineNo, 'empty #fields header');
      this.pos = Int32Array.from(FIELDS, (f) => fields.indexOf(f));
      this.fieldCount = fields.length;
      this.setKind(fields, lineNo);
    }
  }

  private setKind(fields: string[], lineNo: number): void {
    const kind = kindOf(this.path, fields);
    if (kind === undefined) {
      if (this.path !== undefined && this.path !== '') {
        this.other = true;
        this.onOther(this.file, this.path);
        return;
      }
      throw this.headerError(lineNo, `#fields names no conn.log, ssl.log or http.log (no conn_state, server_name or method/host field)`);
    }
    if (this.kind !== undefined && this.kind !== kind) throw this.headerError(lineNo, `a ${kind}.log header in a ${this.kind}.log`);
    this.kind = kind;
    this.other = false;
    const missing = REQUIRED[kind].filter((f) => !fields.includes(f));
    if (missing.length > 0) throw this.headerError(lineNo, `#fields of this ${kind}.log lacks ${missing.join(', ')}`);
  }

  private parseJson(line: string, lineNo: number): Line | undefined {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new RecordError(this.file, lineNo, 'corrupt line: not a JSON object');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new RecordError(this.file, lineNo, 'corrupt line: not a JSON object');
    const o = obj as Record<string, unknown>;
    const id = typeof o.id === 'object' && o.id !== null ? (o.id as Record<string, unknown>) : undefined;
    const raw = (name: string): unknown => (name.startsWith('id.') && id && !(name in o) ? id[name.slice(3)] : o[name]);
    if (this.other) return undefined;
    if (this.kind === undefined) {
      const path = typeof o._path === 'string' ? o._path : undefined;
      const keys = Object.keys(o);
      if (id) keys.push(...Object.keys(id).map((k) => `id.${k}`));
      const kind = kindOf(path, keys);
      if (kind === undefined) {
        if (path !== undefined) {
          this.other = true;
          this.onOther(this.file, path);
          return undefined;
        }
        throw this.headerError(lineNo, 'this JSON log is no conn.log, ssl.log or http.log (no conn_state, server_name or method/host field)');
      }
      this.kind = kind;
    }
    this.vals = FIELDS.map((name) => {
      const v = raw(name);
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      if (Array.isArray(v)) return v.map(String).join(',');
      return undefined;
    });
    this.pos = IDENTITY;
    this.tsv = false;
    this.lineNo = lineNo;
    return this.line(this.kind as Kind);
  }

  private line(kind: Kind): Line | undefined {
    const tsText = this.get(F_TS);
    const ts = time(tsText, !this.tsv);
    if (ts === undefined) throw this.bad(`ts ${JSON.stringify(tsText ?? '-')} is not a time`);
    if (kind === 'ssl' || kind === 'http') {
      const uid = this.get(F_UID);
      if (uid === undefined || uid === '') throw this.bad('no uid');
      if (kind === 'ssl') {
        const tls: SslLine['tls'] = { alpn: [] };
        const v = this.get(F_VERSION);
        if (v) tls.version = TLS_VERSIONS[v] ?? v;
        const sni = this.get(F_SERVER_NAME);
        if (sni) tls.sni = sni;
        const alpn = this.get(F_NEXT_PROTOCOL);
        if (alpn) tls.alpn = [alpn];
        return { kind, ts, uid, tls };
      }
      const method = this.get(F_METHOD);
      if (method === undefined) return undefined; // a response without its request
      const http: HttpLine['http'] = { method, target: this.get(F_URI) ?? '' };
      const host = this.get(F_HOST);
      if (host) http.host = host;
      return { kind, ts, uid, http };
    }
    const proto = this.get(F_PROTO);
    if (proto === undefined) throw this.bad('no proto');
    const ipProtoText = this.get(F_IP_PROTO);
    let ipProto = ipProtoText === undefined || ipProtoText === '' ? -1 : +ipProtoText;
    if (proto === 'tcp') ipProto = 6;
    else if (proto === 'udp') ipProto = 17;
    else if (proto === 'icmp') {
      if (ipProto !== 1 && ipProto !== 58) ipProto = -1; // from the address family below
    } else if (proto !== 'unknown_transport' || !(ipProto >= 0 && ipProto <= 255 && Number.isInteger(ipProto))) {
      // Another protocol name, or unknown_transport without ip_proto to key it by: counted, not judged.
      this.otherProto++;
      return undefined;
    }
    const origText = this.get(F_ORIG_H) ?? '';
    const respText = this.get(F_RESP_H) ?? '';
    const client = address(origText);
    const server = address(respText);
    if (client === undefined) throw this.bad(`id.orig_h ${JSON.stringify(origText || '-')} is not an IP address`);
    if (server === undefined) throw this.bad(`id.resp_h ${JSON.stringify(respText || '-')} is not an IP address`);
    const cport = port(this.get(F_ORIG_P));
    const sport = port(this.get(F_RESP_P));
    if (cport === undefined) throw this.bad('id.orig_p is not a port');
    if (sport === undefined) throw this.bad('id.resp_p is not a port');
    const state = this.get(F_CONN_STATE) ?? 'OTH';
    if (!STATES.has(state)) throw this.bad(`conn_state ${JSON.stringify(state)} is not one of Zeek's`);
    const history = this.get(F_HISTORY) ?? '';
    const durationText = this.get(F_DURATION);
    const duration = durationText === undefined ? 0 : +durationText;
    const service = this.get(F_SERVICE);
    if (ipProto < 0) ipProto = client.includes(':') ? 58 : 1;
    const rec: ConnRecord = {
      transport: proto,
      ipProto,
      client: { ip: client, port: cport },
      server: { ip: server, port: sport },
      start: ts,
      end: duration > 0 && duration !== Infinity ? ts + duration : ts,
      origPackets: this.count(F_ORIG_PKTS),
      origBytes: this.count(F_ORIG_IP_BYTES, F_ORIG_BYTES),
      respPackets: this.count(F_RESP_PKTS),
      respBytes: this.count(F_RESP_IP_BYTES, F_RESP_BYTES),
      state: state as ConnState,
      history,
      open: proto === 'tcp' && openFromState(state as ConnState, history),
      zeekServices: service ? (service.indexOf(',') < 0 ? [service] : service.split(',').filter((x) => x !== '')) : NO_SERVICES,
    };
    return { kind: 'conn', ts, uid: this.get(F_UID), rec };
  }
}

/** Shared by every connection without a service (never written). */
const NO_SERVICES: string[] = [];

function time(v: string | undefined, json: boolean): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = +v;
  if (Number.isFinite(n)) return n;
  if (json) {
    const d = Date.parse(v); // JSON::TS_ISO8601
    if (Number.isFinite(d)) {
      const frac = /\.(\d+)/.exec(v);
      return Math.floor(d / 1000) + (frac ? Number(`0.${frac[1]}`) : 0);
    }
  }
  return undefined;
}

function port(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = +v;
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

export interface ZeekReadOptions {
  onRecord: (rec: ConnRecord) => void;
  onWarning?: (message: string) => void;
  /** Called once every file's header is read, before any record: which log kinds were given. */
  onKinds?: (kinds: ReadonlySet<string>) => void;
}

export interface ZeekReadStats {
  files: RecordFileSummary[];
  /** Connections that waited for an ssl/http record that never came within the bounds. */
  unjoined: number;
  /** ssl/http records whose connection never came. */
  orphans: number;
  /** conn.log lines of other protocols (icmp...): not judged. */
  otherProto: number;
}

/** Waiting connection: joined when its ssl/http records arrive, or given up at `deadline`. */
interface Waiting {
  rec: ConnRecord;
  uid: string;
  needSsl: boolean;
  needHttp: boolean;
  deadline: number;
  emitted: boolean;
}

/** Reads Zeek logs (any order, any number) and hands each connection, joined, to onRecord. */
export async function readZeekLogs(files: string[], opts: ZeekReadOptions): Promise<ZeekReadStats> {
  const warnedOther = new Set<string>();
  const sources = files.map(
    (f) =>
      new ZeekFile(f, (file, path) => {
        if (warnedOther.has(file)) return;
        warnedOther.add(file);
        opts.onWarning?.(`${file}: a ${path}.log, not a conn, ssl or http log; skipped`);
      }),
  );
  // Every header first: a wrong file is an error before anything is judged.
  for (const s of sources) await s.advance();
  const kinds = new Set(sources.map((s) => s.kind).filter((k): k is Kind => k !== undefined));
  opts.onKinds?.(kinds);
  const joinSsl = kinds.has('ssl');
  const joinHttp = kinds.has('http');

  const stats: ZeekReadStats = { files: sources.map((s) => s.summary), unjoined: 0, orphans: 0, otherProto: 0 };
  const ssl = new Map<string, SslLine | HttpLine>();
  const http = new Map<string, SslLine | HttpLine>();
  const waiting = new Map<string, Waiting>();
  /** Waiting connections in arrival order (deadline order: the clock only grows). */
  const queue: Waiting[] = [];
  let queueHead = 0;
  let clock = -Infinity;

  const emit = (w: Waiting): void => {
    if (w.emitted) return;
    w.emitted = true;
    waiting.delete(w.uid);
    if (w.needSsl || w.needHttp) stats.unjoined++;
    opts.onRecord(w.rec);
  };
  const expire = (): void => {
    while (queueHead < queue.length) {
      const w = queue[queueHead] as Waiting;
      if (!w.emitted && w.deadline >= clock && waiting.size <= PENDING_MAX) break;
      queueHead++;
      emit(w);
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
    // ssl/http records waiting for their connection: looked at once per second of log time (or when
    // a map is over its bound); maps iterate in insertion order, the oldest first.
    if (clock - lastOrphanCheck < 1 && ssl.size <= PENDING_MAX && http.size <= PENDING_MAX) return;
    lastOrphanCheck = clock;
    dropOrphans(ssl);
    dropOrphans(http);
  };
  let lastOrphanCheck = -Infinity;
  const dropOrphans = (map: Map<string, SslLine | HttpLine>): void => {
    if (map.size === 0) return;
    for (const [uid, l] of map) {
      if (l.ts >= clock - READ_AHEAD && map.size <= PENDING_MAX) break;
      map.delete(uid);
      stats.orphans++;
    }
  };

  const attach = (w: Waiting | ConnRecord, l: SslLine | HttpLine): void => {
    const rec = 'rec' in w ? w.rec : w;
    if (l.kind === 'ssl') {
      rec.tls = l.tls;
      if ('rec' in w) w.needSsl = false;
    } else {
      rec.http = l.http;
      if ('rec' in w) w.needHttp = false;
    }
  };

  const take = (l: Line): void => {
    if (l.ts > clock) clock = l.ts;
    if (l.kind === 'conn') {
      const rec = l.rec;
      const uid = l.uid;
      let needSsl = joinSsl && rec.zeekServices.includes('ssl');
      let needHttp = joinHttp && rec.zeekServices.includes('http');
      if (uid !== undefined) {
        const s = ssl.get(uid);
        if (s) {
          ssl.delete(uid);
          attach(rec, s);
          needSsl = false;
        }
        const h = http.get(uid);
        if (h) {
          http.delete(uid);
          attach(rec, h);
          needHttp = false;
        }
      }
      if ((needSsl || needHttp) && uid !== undefined && !waiting.has(uid)) {
        const w: Waiting = { rec, uid, needSsl, needHttp, deadline: Math.max(clock, rec.end) + READ_AHEAD, emitted: false };
        waiting.set(uid, w);
        queue.push(w);
      } else opts.onRecord(rec);
    } else {
      const w = waiting.get(l.uid);
      if (w) {
        if ((l.kind === 'ssl' && w.needSsl) || (l.kind === 'http' && w.needHttp)) attach(w, l);
        if (!w.needSsl && !w.needHttp) emit(w);
      } else {
        const map = l.kind === 'ssl' ? ssl : http;
        if (!map.has(l.uid)) map.set(l.uid, l);
      }
    }
    expire();
  };

  let live = sources.filter((s) => s.head !== undefined);
  while (live.length > 0) {
    let best = live[0] as ZeekFile;
    for (let i = 1; i < live.length; i++) {
      const s = live[i] as ZeekFile;
      if ((s.head as Line).ts < (best.head as Line).ts) best = s;
    }
    take(best.head as Line);
    const r = best.step();
    if (r === 'need') await best.advance();
    else if (r === 'done') best.head = undefined;
    if (best.head === undefined) live = live.filter((s) => s !== best);
  }
  clock = Infinity;
  for (const w of queue.slice(queueHead)) emit(w);
  stats.orphans += ssl.size + http.size;
  stats.otherProto = sources.reduce((n, s) => n + s.otherProto, 0);
  return stats;
}
