/**
 * What flow records cannot show: the one place that says which checks a judgement from Zeek logs or
 * NetFlow cannot make. The reports print these lines once, at the top (JSON: `evidence`); packet
 * captures have none, so their reports are unchanged.
 */
import type { RuleSet } from './load.js';
import { formatPorts } from './schema.js';

export type RecordInputKind = 'zeek' | 'netflow' | 'netflow-csv';

export interface EvidenceSources {
  /** Zeek: an ssl.log / http.log was given (joined by uid). */
  ssl: boolean;
  http: boolean;
}

/** The limits of the evidence, one sentence each. */
export function evidenceLimits(kind: RecordInputKind, sources: EvidenceSources, rules: RuleSet): string[] {
  const zeek = kind === 'zeek';
  const rows = rules.rows.filter((r) => !r.localOnly);
  const where = (pred: (r: (typeof rows)[number]) => boolean): string =>
    rows
      .filter(pred)
      .map((r) => `${r.id} ${r.transport.join('/').toUpperCase()}/${formatPorts(r.ports)}`)
      .join(', ');
  const out: string[] = [];
  const source = zeek ? "Zeek's conn.log" : kind === 'netflow' ? 'NetFlow/IPFIX records (nfdump)' : "a firewall's CSV export";
  out.push(`Evidence: ${source}, no payload. Services are ${zeek ? "Zeek's (its analyzers' service field, serviceBy zeek) or " : ''}the matrix's ports (serviceBy port).`);
  const payloadRows = where((r) => r.service.some((s) => s === 'tls' || s === 'http' || s === 'h2c'));
  if (payloadRows) {
    out.push(
      zeek
        ? `Not checked unless Zeek's analyzers named the protocol: TLS against plaintext HTTP/h2c (${payloadRows}).`
        : `Not checked: TLS against plaintext HTTP/h2c (${payloadRows}); a plaintext connection on a TLS row is judged allowed.`,
    );
  }
  const wgRows = where((r) => r.service.includes('wireguard'));
  if (wgRows) out.push(zeek ? `Not checked unless Zeek's analyzer named it: datagrams that are not WireGuard (${wgRows}).` : `Not checked: datagrams that are not WireGuard (${wgRows}).`);
  if (zeek) {
    out.push(
      sources.ssl
        ? "TLS version, SNI and the server's ALPN come from ssl.log; the client's ALPN offer is not logged, so an offer without h2 is not seen."
        : 'No ssl.log given: no TLS version, SNI or ALPN.',
    );
    out.push(sources.http ? 'HTTP method, target and Host come from http.log.' : 'No http.log given: no HTTP request or Host.');
    out.push("conn_state and history are Zeek's, as logged.");
  } else {
    out.push('No TLS version, SNI or ALPN, no HTTP request or Host.');
    out.push(
      'conn_state and history are made from the TCP flags of the records (no order, no retransmissions): a connection is closed once a FIN or RST was seen; without flags, TCP connections are taken as closed (SF).',
    );
    out.push(
      'Records split by the exporter\'s active/inactive timeouts are merged into one connection: same 5-tuple, the next record starting at most 60 s after the previous one ended; the two directions are merged the same way.',
    );
    out.push(
      'The initiator is the side that sent a SYN without ACK where flags exist; else the first direction of a two-way record; else the earlier record; else the side not on a port of the matrix; else the higher port.',
    );
  }
  return out;
}
