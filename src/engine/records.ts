/**
 * Flow records (Zeek logs, NetFlow, a firewall's CSV) judged with the same Judge as packets: each
 * record becomes a flow with the record's endpoints, counters, conn_state and history, and whatever
 * service evidence the record has (Zeek's analyzers, ssl.log, http.log). The result has the shape of
 * a capture's analysis, so every report format and the exit codes work unchanged.
 */
import { PayloadClassifier, type ClassifiedFlow } from '../classify/classify.js';
import { Decoder } from '../decode/decoder.js';
import { newFlow } from '../flow/flow.js';
import { newFlowKey, type FlowKey } from '../flow/key.js';
import type { Inventory } from '../policy/inventory.js';
import type { JudgedFlow } from '../policy/judge.js';
import { Judge } from '../policy/judge.js';
import { evidenceLimits, type RecordInputKind } from '../policy/limits.js';
import type { RuleSet } from '../policy/load.js';
import type { Service } from '../model/vocabulary.js';
import type { ConnRecord, RecordFileSummary } from '../records/record.js';
import { readNetflow } from '../records/netflow.js';
import { readNetflowCsv } from '../records/netflow-csv.js';
import { readZeekLogs } from '../records/zeek.js';
import type { AnalysisResult } from './analyze.js';

export interface RecordAnalyzeOptions {
  input: RecordInputKind;
  files: string[];
  rules: RuleSet;
  inventory: Inventory;
  secaggTimeout?: number;
  onFlow: (flow: JudgedFlow) => void;
  /** Once the inputs are open, before any flow: the limits of this evidence (policy/limits.ts). */
  onEvidence?: (limits: string[]) => void;
  onWarning?: (message: string) => void;
}

/** Zeek's service names -> netmatrix's services, in the order Zeek confirmed them. */
const ZEEK_SERVICES: Record<string, Service> = {
  ssl: 'tls',
  http: 'http',
  http2: 'h2c',
  wireguard: 'wireguard',
  spicy_wireguard: 'wireguard',
};

/**
 * The service Zeek's analyzers named: the first name netmatrix knows (`http,ssl` is an HTTP CONNECT
 * then TLS: the client's first bytes are HTTP); http2 next to ssl is HTTP/2 inside TLS. A name
 * netmatrix has no service for (ssh, dns...) is `unknown`: on a matrix row it contradicts the row.
 */
export function zeekService(names: readonly string[]): Service | undefined {
  if (names.length === 0) return undefined;
  for (const n of names) {
    const s = ZEEK_SERVICES[n.toLowerCase()];
    if (s === 'h2c' && names.includes('ssl')) return 'tls';
    if (s !== undefined) return s;
  }
  return 'unknown';
}

/** A record's flow key: only its protocol is read (the judged flow's ipProto); one per protocol. */
const RECORD_KEYS = new Map<number, FlowKey>();
function recordKey(ipProto: number): FlowKey {
  let key = RECORD_KEYS.get(ipProto);
  if (!key) {
    key = { ...newFlowKey(), keyProto: ipProto };
    RECORD_KEYS.set(ipProto, key);
  }
  return key;
}

/** A record as the flow the judge reads. */
export function recordFlow(rec: ConnRecord, id: number): ClassifiedFlow {
  const classifier = new PayloadClassifier();
  classifier.clientDone = true;
  classifier.serverDone = true;
  const service = zeekService(rec.zeekServices);
  classifier.result.service = service;
  if (rec.tls) classifier.result.tls = { version: rec.tls.version ?? 'unknown', alpn: [], ...(rec.tls.sni === undefined ? {} : { sni: rec.tls.sni }), ...(rec.tls.alpn[0] === undefined ? {} : { alpnSelected: rec.tls.alpn[0] }) };
  if (rec.http) classifier.result.http = { ...rec.http };
  const flow = newFlow({
    id,
    transport: rec.transport,
    ipVersion: rec.client.ip.includes(':') ? 6 : 4,
    client: rec.client,
    server: rec.server,
    ts: rec.start,
    fileIndex: 0,
    classifier,
    key: recordKey(rec.ipProto),
  });
  flow.end = rec.end;
  flow.orig.packets = rec.origPackets;
  flow.orig.bytes = rec.origBytes;
  flow.resp.packets = rec.respPackets;
  flow.resp.bytes = rec.respBytes;
  flow.history = rec.history;
  flow.endReason = rec.open ? 'capture-end' : 'closed';
  return flow;
}

export async function analyzeRecords(opts: RecordAnalyzeOptions): Promise<AnalysisResult> {
  const judge = new Judge(opts.rules, opts.inventory, opts.secaggTimeout);
  let id = 0;
  let first = Infinity;
  let last = -Infinity;
  const onRecord = (rec: ConnRecord): void => {
    if (rec.start < first) first = rec.start;
    if (rec.end > last) last = rec.end;
    const flow = recordFlow(rec, ++id);
    opts.onFlow(
      judge.judgeRecord(flow, {
        state: rec.state,
        open: rec.open,
        serviceBy: flow.classifier.result.service !== undefined && rec.zeekServices.length > 0 ? 'zeek' : undefined,
      }),
    );
  };
  let files: RecordFileSummary[];
  let other = 0;
  if (opts.input === 'zeek') {
    const stats = await readZeekLogs(opts.files, {
      onRecord,
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
      onKinds: (kinds) => opts.onEvidence?.(evidenceLimits('zeek', { ssl: kinds.has('ssl'), http: kinds.has('http') }, opts.rules)),
    });
    files = stats.files;
    other = stats.otherProto;
    if (stats.unjoined > 0) opts.onWarning?.(`${stats.unjoined} connections named ssl or http by Zeek had no ssl.log/http.log record within 300 s of log time`);
  } else {
    // No file header says anything about the evidence: the limits are known before reading.
    opts.onEvidence?.(evidenceLimits(opts.input, { ssl: false, http: false }, opts.rules));
    const read = opts.input === 'netflow' ? readNetflow : readNetflowCsv;
    const stats = await read(opts.files, { onRecord, isServicePort: judge.isServicePort });
    files = stats.files;
    other = stats.otherProto;
  }
  const complete = files.every((f) => f.complete);
  const records = files.reduce((n, f) => n + f.records, 0);
  return {
    inputs: files.map((f) => ({ file: f.file, format: f.format, frames: f.records, bytesRead: f.bytes, complete: f.complete, stopped: f.stopped })),
    complete,
    frames: records,
    decoder: new Decoder().stats,
    flows: { flows: id, active: 0, evicted: 0, timedOut: 0, otherPackets: other },
    captureFindings: judge.captureFindings(),
    first: first === Infinity ? undefined : first,
    last: last === -Infinity ? undefined : last,
  };
}
