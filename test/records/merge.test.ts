/**
 * NetFlow merging (src/records/merge.ts): records split by an exporter's timeouts and the two
 * directions of a connection become one connection; the initiator rules in their order; conn_state
 * and history from the TCP flags.
 */
import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/model/vocabulary.js';
import { parseTcpFlags, RecordMerger, type DirectionalRecord } from '../../src/records/merge.js';
import type { ConnRecord } from '../../src/records/record.js';

const T = 1_764_583_200;
const SA = TCP_SYN | TCP_ACK;
const FULL = TCP_SYN | TCP_ACK | TCP_PSH | TCP_FIN;

function rec(src: string, sp: number, dst: string, dp: number, first: number, last: number, flags: number | undefined, packets = 5, transport: 'tcp' | 'udp' = 'tcp'): DirectionalRecord {
  return { transport, src, srcPort: sp, dst, dstPort: dp, first, last, packets, bytes: packets * 100, flags };
}

function merge(records: DirectionalRecord[], servicePorts: number[] = [50051]): ConnRecord[] {
  const out: ConnRecord[] = [];
  const m = new RecordMerger((r) => out.push(r), (_t, p) => servicePorts.includes(p));
  for (const r of records) m.add(r);
  m.flush();
  return out;
}

describe('RecordMerger', () => {
  it('merges records of one 5-tuple split by timeouts while the gap is at most 60 s, and both directions', () => {
    const out = merge([
      rec('10.0.0.2', 40000, '10.0.0.1', 50051, T, T + 100, TCP_SYN | TCP_ACK | TCP_PSH),
      rec('10.0.0.1', 50051, '10.0.0.2', 40000, T, T + 100, SA | TCP_PSH),
      rec('10.0.0.2', 40000, '10.0.0.1', 50051, T + 160, T + 200, TCP_ACK | TCP_PSH | TCP_FIN),
      rec('10.0.0.1', 50051, '10.0.0.2', 40000, T + 160, T + 200, TCP_ACK | TCP_FIN),
    ]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ client: { ip: '10.0.0.2', port: 40000 }, server: { port: 50051 }, start: T, end: T + 200, origPackets: 10, respPackets: 10, state: 'SF', open: false });
  });

  it('a gap over 60 s starts a new connection', () => {
    const out = merge([rec('10.0.0.2', 40000, '10.0.0.1', 50051, T, T + 100, FULL), rec('10.0.0.2', 40000, '10.0.0.1', 50051, T + 161, T + 200, FULL)]);
    expect(out).toHaveLength(2);
  });

  it('a SYN after the connection closed starts a new one', () => {
    const out = merge([
      rec('10.0.0.2', 40000, '10.0.0.1', 50051, T, T + 1, FULL),
      rec('10.0.0.1', 50051, '10.0.0.2', 40000, T, T + 1, SA | TCP_FIN),
      rec('10.0.0.2', 40000, '10.0.0.1', 50051, T + 5, T + 6, FULL),
    ]);
    expect(out.map((c) => c.start)).toEqual([T, T + 5]);
  });

  it('the initiator: SYN without ACK first, then a two-way record, the earlier record, the service port, the higher port', () => {
    // A lone SYN toward a high port from port 50051: flags win over ports.
    expect(merge([rec('10.0.0.1', 50051, '10.0.0.2', 60000, T, T, TCP_SYN, 1), rec('10.0.0.2', 60000, '10.0.0.1', 50051, T, T, TCP_RST | TCP_ACK, 1)])[0]).toMatchObject({
      client: { port: 50051 },
      state: 'REJ',
    });
    // A two-way record: its source spoke first.
    const two = { ...rec('10.0.0.1', 50051, '10.0.0.2', 60000, T, T + 1, undefined, 3, 'udp'), outPackets: 2, outBytes: 200 };
    expect(merge([two])[0]).toMatchObject({ client: { port: 50051 }, origPackets: 3, respPackets: 2 });
    // The earlier record.
    expect(merge([rec('10.0.0.1', 50051, '10.0.0.2', 60000, T + 0.002, T + 1, FULL), rec('10.0.0.2', 60000, '10.0.0.1', 50051, T + 0.001, T + 1, FULL)])[0]).toMatchObject({
      client: { port: 60000 },
    });
    // Same time: the side on the matrix's port is the server, whatever the port numbers.
    expect(merge([rec('10.0.0.1', 5000, '10.0.0.2', 60000, T, T + 1, FULL), rec('10.0.0.2', 60000, '10.0.0.1', 5000, T, T + 1, FULL)], [60000])[0]).toMatchObject({
      client: { port: 5000 },
    });
    // Nothing else: the higher port is the client.
    expect(merge([rec('10.0.0.1', 5000, '10.0.0.2', 60000, T, T + 1, FULL), rec('10.0.0.2', 60000, '10.0.0.1', 5000, T, T + 1, FULL)], [])[0]).toMatchObject({
      client: { port: 60000 },
    });
    // One way only: its sender, unless it sends from a service port to one that is not.
    expect(merge([rec('10.0.0.2', 5353, '10.0.0.9', 40000, T, T, undefined, 1, 'udp')], [])[0]).toMatchObject({ client: { port: 5353 }, state: 'S0' });
    expect(merge([rec('10.0.0.2', 53, '10.0.0.9', 40000, T, T, undefined, 1, 'udp')], [53])[0]).toMatchObject({ client: { port: 40000 }, state: 'SHR' });
  });

  it('conn_state and history from the flags; open only when established and never closed', () => {
    const one = (o: number, r: number | undefined): ConnRecord => {
      const list = [rec('10.0.0.2', 40000, '10.0.0.1', 50051, T, T + 1, o)];
      if (r !== undefined) list.push(rec('10.0.0.1', 50051, '10.0.0.2', 40000, T, T + 1, r));
      return merge(list)[0] as ConnRecord;
    };
    expect(one(TCP_SYN, undefined)).toMatchObject({ state: 'S0', history: 'S', open: false });
    expect(one(SA | TCP_PSH, SA | TCP_PSH)).toMatchObject({ state: 'S1', history: 'ShAaDd', open: true });
    expect(one(FULL, SA | TCP_FIN)).toMatchObject({ state: 'SF', open: false });
    expect(one(SA | TCP_RST, SA)).toMatchObject({ state: 'RSTO', open: false });
    expect(one(SA, SA | TCP_RST)).toMatchObject({ state: 'RSTR' });
    expect(one(SA | TCP_FIN, SA)).toMatchObject({ state: 'S2' });
    expect(one(TCP_ACK | TCP_PSH, TCP_ACK)).toMatchObject({ state: 'OTH', open: true });
  });

  it('an open TCP connection waits for its next piece while other records move time on; a UDP flow does not', () => {
    const out = merge([
      // A secagg session cut by an active timeout at T+600: its next piece is exported 20 min later.
      rec('10.0.0.2', 40000, '10.0.0.1', 14000, T, T + 600, SA | TCP_PSH),
      rec('10.0.0.1', 14000, '10.0.0.2', 40000, T, T + 600, SA | TCP_PSH),
      rec('10.0.0.2', 41000, '10.0.0.1', 53, T + 600, T + 600, undefined, 1, 'udp'),
      rec('10.0.0.2', 41001, '10.0.0.1', 50051, T + 1800, T + 1801, FULL),
      rec('10.0.0.2', 41000, '10.0.0.1', 53, T + 1810, T + 1810, undefined, 1, 'udp'),
      rec('10.0.0.2', 40000, '10.0.0.1', 14000, T + 601, T + 1900, TCP_ACK | TCP_PSH | TCP_FIN),
      rec('10.0.0.1', 14000, '10.0.0.2', 40000, T + 601, T + 1900, TCP_ACK | TCP_FIN),
    ]);
    const secagg = out.filter((c) => c.server.port === 14000);
    expect(secagg).toHaveLength(1);
    expect(secagg[0]).toMatchObject({ state: 'SF', open: false, end: T + 1900 });
    expect(out.filter((c) => c.server.port === 53)).toHaveLength(2);
  });

  it('a record whose last packet is before its first (softflowd IPFIX) is one instant', () => {
    const out = merge([rec('10.0.0.2', 40000, '10.0.0.1', 50051, T + 1, T + 0.5, FULL | TCP_RST), rec('10.0.0.1', 50051, '10.0.0.2', 40000, T + 1, T + 0.5, SA)]);
    expect(out).toHaveLength(1);
  });
});

describe('parseTcpFlags', () => {
  it("reads nfdump's letters, hex and decimal", () => {
    expect(parseTcpFlags('...AP.SF')).toBe(TCP_ACK | TCP_PSH | TCP_SYN | TCP_FIN);
    expect(parseTcpFlags('......S.')).toBe(TCP_SYN);
    expect(parseTcpFlags('0x12')).toBe(SA);
    expect(parseTcpFlags('18')).toBe(SA);
    expect(parseTcpFlags(2)).toBe(TCP_SYN);
    expect(parseTcpFlags('xyz')).toBeUndefined();
    expect(parseTcpFlags('')).toBeUndefined();
  });
});
