/**
 * JSON (one document) and JSONL (one record per line), both streamed: a flow is written when it ends.
 * Document: {"matrix", "inventory", "files", "flows": [...], "captureFindings", "complete", "summary"}.
 * Lines: {"record":"header",...}, {"record":"flow",...}..., {"record":"finding",...}..., {"record":"summary",...}.
 */
import type { CaptureFinding, Finding, JudgedEndpoint, JudgedFlow } from '../policy/judge.js';
import { safeJson } from './escape.js';
import type { ReportHeader, RunSummary } from './summary.js';
import { isoTime } from './time.js';
import type { ReportWriter, Sink } from './writer.js';

export class JsonWriter implements ReportWriter {
  private first = true;
  constructor(private readonly sink: Sink) {}

  begin(header: ReportHeader): void {
    this.sink(
      `{"matrix":${safeJson(header.matrix)},\n"inventory":${safeJson(header.inventory)},\n"files":${safeJson(header.files)},\n${header.evidence ? `"evidence":${safeJson(header.evidence)},\n` : ''}"flows":[`,
    );
  }

  flow(flow: JudgedFlow): void {
    this.sink(`${this.first ? '\n' : ',\n'}{${flowFields(flow)}}`);
    this.first = false;
  }

  end(summary: RunSummary, captureFindings: CaptureFinding[]): void {
    this.sink(
      `\n],\n"captureFindings":${safeJson(captureFindings)},\n"complete":${summary.complete},\n"summary":${safeJson(summary)}}\n`,
    );
  }
}

export class JsonlWriter implements ReportWriter {
  constructor(private readonly sink: Sink) {}

  begin(header: ReportHeader): void {
    this.sink(`${safeJson({ record: 'header', ...header })}\n`);
  }

  flow(flow: JudgedFlow): void {
    this.sink(`{"record":"flow",${flowFields(flow)}}\n`);
  }

  end(summary: RunSummary, captureFindings: CaptureFinding[]): void {
    for (const f of captureFindings) this.sink(`${safeJson({ record: 'finding', ...f })}\n`);
    this.sink(`${safeJson({ record: 'summary', ...summary })}\n`);
  }
}

/**
 * The monitor's JSON lines: {"event":NAME,"at":ISO time,...} as things happen. An alert carries the
 * members of the flow's record, as the reports write them, and the finding.
 */
export class JsonlEventWriter {
  constructor(private readonly sink: Sink) {}

  alert(at: number, flow: JudgedFlow, finding: Finding): void {
    this.sink(`{"event":"alert","at":${safeJson(isoTime(at))},${flowFields(flow)},"finding":${safeJson(finding)}}\n`);
  }

  /** The last line: why the monitor stopped, the run's summary and the findings about the capture. */
  summary(at: number, stoppedBy: string, summary: RunSummary, captureFindings: CaptureFinding[]): void {
    this.event('summary', at, { stoppedBy, ...summary, captureFindings });
  }

  /** Any other event (stats, drops): `fields` follow `event` and `at`, in their own order. */
  event(event: string, at: number, fields: object): void {
    this.sink(`${safeJson({ event, at: isoTime(at), ...fields })}\n`);
  }
}

/**
 * The members of one flow's JSON record (used by the JSON and JSONL reports and monitor alerts):
 * written straight to text, escaped as safeJson escapes, without building a record object (one per
 * flow would be the report's hot path). test/report/json.test.ts holds it equal to safeJson of the
 * equivalent record object.
 */
export function flowFields(f: JudgedFlow): string {
  let s = `"id":${num(f.id)},"transport":${str(f.transport)}`;
  // ICMP's IPv4/IPv6 and the other protocols' numbers (Zeek's ip_proto); TCP and UDP need none.
  if (f.transport !== 'tcp' && f.transport !== 'udp') s += `,"ipProto":${num(f.ipProto)}`;
  s += `,"client":${endpoint(f.client)},"server":${endpoint(f.server)},"service":${str(f.service)},"serviceBy":${str(f.serviceBy)}`;
  if (f.tls) s += `,"tls":${safeJson(f.tls)}`;
  if (f.http) s += `,"http":${safeJson(f.http)}`;
  if (f.wireguard) s += `,"wireguard":{"messageTypes":${safeJson(f.wireguard)}}`;
  s += `,"state":${str(f.state)},"history":${str(f.history)},"packets":${num(f.packets)},"bytes":${num(f.bytes)},"start":"${isoTime(f.start)}","end":"${isoTime(f.end)}","duration":${num(Math.round((f.end - f.start) * 1e6) / 1e6)},"tunnel":${f.tunnel},"endReason":${str(f.endReason)},"rule":${f.rule === null ? 'null' : str(f.rule)},"verdict":${str(f.verdict)}`;
  if (f.scope !== undefined) s += `,"scope":${str(f.scope)}`;
  if (f.encapsulation !== undefined) s += `,"encapsulation":${safeJson(f.encapsulation)}`;
  return `${s},"findings":${findings(f.findings)}`;
}

function endpoint(e: JudgedEndpoint): string {
  const host = e.host === undefined ? '' : `,"host":${str(e.host)}`;
  return `{"ip":${str(e.ip)},"port":${num(e.port)},"role":${str(e.role)},"packets":${num(e.packets)},"bytes":${num(e.bytes)}${host}}`;
}

function findings(list: Finding[]): string {
  if (list.length === 0) return '[]';
  let s = '';
  for (const f of list) s += `${s ? ',' : ''}{"code":${str(f.code)},"severity":${str(f.severity)},"message":${str(f.message)}}`;
  return `[${s}]`;
}

/** Printable ASCII other than quote and backslash: written as it is. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Quoted forms of the short strings flows repeat (addresses from the decoder's cache, roles,
 * services, states, rule names): a Map hit reuses the string's cached hash, cheaper than the
 * pattern test. Cleared when full, so a capture of many distinct values cannot grow it.
 */
const quotedCache = new Map<string, string>();
const QUOTED_CACHE_MAX = 4096;
const QUOTED_CACHE_LONGEST = 64;

function str(v: string): string {
  let q = quotedCache.get(v);
  if (q !== undefined) return q;
  q = PLAIN.test(v) ? `"${v}"` : safeJson(v);
  if (v.length <= QUOTED_CACHE_LONGEST) {
    if (quotedCache.size >= QUOTED_CACHE_MAX) quotedCache.clear();
    quotedCache.set(v, q);
  }
  return q;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}
