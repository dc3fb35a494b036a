/**
 * Flow records: what a site keeps instead of packets (Zeek's conn.log, NetFlow/IPFIX through nfdump, a
 * firewall's CSV export), read into one neutral connection record. The readers of this folder stand
 * beside the capture readers: they know files and formats, nothing of the matrix. engine/records.ts
 * turns the records into judged flows.
 */
import { NetmatrixError } from '../model/errors.js';
import type { ConnState, FlowTransport } from '../model/vocabulary.js';


export type RecordInput = 'zeek' | 'netflow' | 'netflow-csv';

/** One connection as a record tells it: `client` is the originator. */
export interface ConnRecord {
  /** As Zeek's `proto`: tcp, udp, icmp (v4 and v6), unknown_transport (Zeek logs only). */
  transport: FlowTransport;
  /** The IP protocol number (Zeek's `ip_proto`): 6, 17, 1 or 58, others. */
  ipProto: number;
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  /** Seconds since the epoch. */
  start: number;
  end: number;
  origPackets: number;
  origBytes: number;
  respPackets: number;
  respBytes: number;
  state: ConnState;
  /** Zeek's history, or one made from the TCP flags a NetFlow record carries (see netflow.ts). */
  history: string;
  /** The connection was still open (no FIN or RST, established) when the record was written. */
  open: boolean;
  /** Zeek's `service` field, its names as logged (ssl, http, dns, ...); empty when none. */
  zeekServices: string[];
  tls?: { version?: string; sni?: string; alpn: string[] };
  http?: { method: string; target: string; host?: string };
}

/** A problem with a record file: names the file and the line (or record). Exit 2. */
export class RecordError extends NetmatrixError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    detail: string,
  ) {
    super('records-format', `${file}${line === undefined ? '' : `:${line}`}: ${detail}`);
  }
}

/** What was read from one input file. */
export interface RecordFileSummary {
  file: string;
  /** zeek-tsv, zeek-json, nfcapd, csv. */
  format: string;
  /** Records (log lines, nfdump records, CSV rows) read. */
  records: number;
  bytes: number;
  complete: boolean;
  stopped?: RecordError;
}

/** Connection states whose connection is still open when logged (as the packet path's isOpen says). */
export function openFromState(state: ConnState, history: string): boolean {
  if (state === 'S1') return true;
  return state === 'OTH' && !/[FRfrI]/.test(history);
}
