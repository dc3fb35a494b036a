/**
 * ICMP, ICMPv6 and other IP protocols as connections, keyed as Zeek keys them
 * (packet_analysis/protocol/icmp/ICMP.cc, unknown_ip_transport/UnknownIPTransport.cc).
 */
import { describe, expect, it } from 'vitest';
import { PAYLOAD_CLASSIFIERS, type ClassifiedFlow, type PayloadClassifier } from '../../src/classify/classify.js';
import type { Packet } from '../../src/decode/packet.js';
import { connState } from '../../src/flow/flow.js';
import { ICMP_ONE_WAY, icmpCounterpart } from '../../src/flow/icmp.js';
import { FlowTable } from '../../src/flow/table.js';
import { icmp, ipProto, udp } from '../helpers/packets.js';

function run(packets: Packet[], opts: ConstructorParameters<typeof FlowTable>[0] = {}): { flows: ClassifiedFlow[]; table: FlowTable<PayloadClassifier> } {
  const flows: ClassifiedFlow[] = [];
  const table = new FlowTable(opts, (f) => flows.push(f), PAYLOAD_CLASSIFIERS);
  for (const p of packets) table.add(p);
  table.flush();
  return { flows, table };
}

const A = '10.0.0.2';
const B = '10.0.0.1';
const bytes = (n: number): Uint8Array => new Uint8Array(n);

describe('ICMP connections (Zeek: type and counterpart type, or type and code one way)', () => {
  it('an echo request and its reply are one connection: ports 8 -> 0, OTH, no history, bytes after the header', () => {
    const { flows } = run([
      icmp({ ts: 1, src: A, dst: B, type: 8, payload: bytes(56) }),
      icmp({ ts: 1.001, src: B, dst: A, type: 0, payload: bytes(56) }),
      icmp({ ts: 2, src: A, dst: B, type: 8, payload: bytes(56) }),
      icmp({ ts: 2.001, src: B, dst: A, type: 0, payload: bytes(56) }),
    ]);
    expect(flows).toHaveLength(1);
    const f = flows[0]!;
    expect(f.transport).toBe('icmp');
    expect(f.keyProto).toBe(1);
    expect(f.client).toEqual({ ip: A, port: 8 });
    expect(f.server).toEqual({ ip: B, port: 0 });
    expect(connState(f)).toBe('OTH');
    expect(f.history).toBe('');
    expect(f.orig).toEqual({ packets: 2, bytes: 2 * 84, payloadBytes: 112 });
    expect(f.resp).toEqual({ packets: 2, bytes: 2 * 84, payloadBytes: 112 });
    expect([f.start, f.end]).toEqual([1, 2.001]);
  });

  it('a reply seen first: its sender is the originator, ports 0 -> 8 (Zeek never flips ICMP)', () => {
    const { flows } = run([
      icmp({ ts: 1, src: B, dst: A, type: 0, payload: bytes(8) }),
      icmp({ ts: 2, src: A, dst: B, type: 8, payload: bytes(8) }),
    ]);
    expect(flows).toHaveLength(1);
    expect(flows[0]?.client).toEqual({ ip: B, port: 0 });
    expect(flows[0]?.server).toEqual({ ip: A, port: 8 });
    expect(flows[0]?.flipped).toBe(false);
    expect([flows[0]?.orig.packets, flows[0]?.resp.packets]).toEqual([1, 1]);
  });

  it('a one-way message (destination unreachable) is keyed by type and code and never pairs with the other way', () => {
    const { flows } = run([
      icmp({ ts: 1, src: B, dst: A, type: 3, code: 3, payload: bytes(28) }),
      icmp({ ts: 2, src: B, dst: A, type: 3, code: 3, payload: bytes(28) }),
      icmp({ ts: 3, src: A, dst: B, type: 3, code: 3, payload: bytes(28) }),
      icmp({ ts: 4, src: B, dst: A, type: 3, code: 1, payload: bytes(28) }),
    ]);
    expect(flows.map((f) => `${f.client.ip}:${f.client.port} -> ${f.server.ip}:${f.server.port} ${f.orig.packets}/${f.resp.packets}`)).toEqual([
      `${B}:3 -> ${A}:3 2/0`,
      `${A}:3 -> ${B}:3 1/0`,
      `${B}:3 -> ${A}:1 1/0`,
    ]);
  });

  it("ICMPv6: Zeek's pairs (echo 128/129, RS 133/RA 134, NS 135/NA 136, MLD query 130/report 131); others one-way by code", () => {
    const L = 'fe80::1';
    const R = 'fe80::2';
    const { flows } = run([
      icmp({ ts: 1, src: L, dst: R, type: 135, payload: bytes(24) }),
      icmp({ ts: 1.1, src: R, dst: L, type: 136, payload: bytes(24) }),
      icmp({ ts: 2, src: L, dst: 'ff02::2', type: 133 }),
      icmp({ ts: 3, src: R, dst: 'ff02::16', type: 143, payload: bytes(20) }),
      icmp({ ts: 4, src: L, dst: 'ff02::1', type: 130, payload: bytes(16) }),
      icmp({ ts: 5, src: R, dst: L, type: 128, payload: bytes(8) }),
      icmp({ ts: 6, src: L, dst: R, type: 1, code: 4, payload: bytes(48) }),
    ]);
    expect(flows.map((f) => `${f.transport}/${f.keyProto} ${f.client.ip}:${f.client.port} -> ${f.server.ip}:${f.server.port} ${f.orig.packets}/${f.resp.packets}`)).toEqual([
      `icmp/58 ${L}:135 -> ${R}:136 1/1`,
      `icmp/58 ${L}:133 -> ff02::2:134 1/0`,
      `icmp/58 ${R}:143 -> ff02::16:0 1/0`,
      `icmp/58 ${L}:130 -> ff02::1:131 1/0`,
      `icmp/58 ${R}:128 -> ${L}:129 1/0`,
      `icmp/58 ${L}:1 -> ${R}:4 1/0`,
    ]);
    expect(flows[0]?.orig.payloadBytes).toBe(24);
  });

  it("the counterpart table is Zeek's (ICMP4_counterpart / ICMP6_counterpart)", () => {
    const v4: [number, number][] = [[8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [10, 9], [9, 10], [17, 18], [18, 17]];
    for (const [t, c] of v4) expect(icmpCounterpart(false, t, 7), `v4 ${t}`).toBe(c);
    const v6: [number, number][] = [[128, 129], [129, 128], [133, 134], [134, 133], [135, 136], [136, 135], [130, 131], [131, 130], [139, 140], [140, 139], [144, 145], [145, 144]];
    for (const [t, c] of v6) expect(icmpCounterpart(true, t, 7), `v6 ${t}`).toBe(c);
    // One-way: the code, marked. v4's pairs are not v6's, nor the reverse.
    expect(icmpCounterpart(false, 3, 13)).toBe(13 | ICMP_ONE_WAY);
    expect(icmpCounterpart(false, 128, 0)).toBe(ICMP_ONE_WAY);
    expect(icmpCounterpart(true, 8, 0)).toBe(ICMP_ONE_WAY);
    expect(icmpCounterpart(true, 143, 0)).toBe(ICMP_ONE_WAY);
  });

  it('a ping to oneself (same address both ways) is still one connection with both directions', () => {
    const { flows } = run([icmp({ ts: 1, src: '127.0.0.1', dst: '127.0.0.1', type: 8 }), icmp({ ts: 1.1, src: '127.0.0.1', dst: '127.0.0.1', type: 0 })]);
    expect(flows).toHaveLength(1);
    expect([flows[0]?.orig.packets, flows[0]?.resp.packets]).toEqual([1, 1]);
  });

  it('an ICMP message without its header, or a TCP/UDP packet without its header, is only counted', () => {
    const cut = { ...icmp({ ts: 1, src: A, dst: B, type: 8 }), icmp: undefined, truncated: true };
    const udpCut = { ...udp({ ts: 1, src: A, sport: 1, dst: B, dport: 2 }), udp: undefined, truncated: true };
    const { flows, table } = run([cut, udpCut]);
    expect(flows).toEqual([]);
    expect(table.stats.otherPackets).toBe(2);
  });
});

describe('other IP protocols (Zeek: unknown_transport)', () => {
  it('keyed by the two addresses and the protocol, ports 0; the first sender is the originator; no payload bytes counted', () => {
    const { flows } = run([
      ipProto({ ts: 1, src: B, dst: '224.0.0.5', proto: 89, len: 44 }),
      ipProto({ ts: 2, src: A, dst: B, proto: 112, len: 20 }),
      ipProto({ ts: 3, src: B, dst: A, proto: 112, len: 20 }),
      ipProto({ ts: 4, src: B, dst: A, proto: 50, len: 100 }),
    ]);
    expect(flows.map((f) => `${f.transport}/${f.keyProto} ${f.client.ip}:${f.client.port} -> ${f.server.ip}:${f.server.port} ${f.orig.packets}/${f.resp.packets} ${connState(f)} "${f.history}"`)).toEqual([
      `unknown_transport/89 ${B}:0 -> 224.0.0.5:0 1/0 OTH ""`,
      `unknown_transport/112 ${A}:0 -> ${B}:0 1/1 OTH ""`,
      `unknown_transport/50 ${B}:0 -> ${A}:0 1/0 OTH ""`,
    ]);
    expect(flows[1]?.orig).toEqual({ packets: 1, bytes: 40, payloadBytes: 0 });
  });
});

describe('what Zeek makes no connection of (packet_analysis/protocol/ip/IP.cc) is only counted', () => {
  it('"no next header" (a Teredo bubble) in IPv4 or IPv6; ESP and the mobility header in IPv6 (ESP over IPv4 is a connection)', () => {
    const { flows, table } = run([
      ipProto({ ts: 1, src: '2001::1', dst: '2001::2', proto: 59 }),
      ipProto({ ts: 2, src: A, dst: B, proto: 59 }),
      ipProto({ ts: 3, src: '2001::1', dst: '2001::2', proto: 50, len: 64 }),
      ipProto({ ts: 4, src: '2001::1', dst: '2001::2', proto: 135, len: 8 }),
      ipProto({ ts: 5, src: A, dst: B, proto: 50, len: 64 }),
    ]);
    expect(flows.map((f) => `${f.transport}/${f.keyProto} ${f.client.ip}`)).toEqual([`unknown_transport/50 ${A}`]);
    expect(table.stats.otherPackets).toBe(4);
  });
});

describe('timeouts and the flow cap apply to ICMP and other protocols', () => {
  it('60 s without packets ends an ICMP flow (icmp_inactivity_timeout) and another protocol\'s (unknown_ip_inactivity_timeout)', () => {
    const { flows } = run([
      icmp({ ts: 0, src: A, dst: B, type: 8 }),
      ipProto({ ts: 0, src: A, dst: B, proto: 89 }),
      // 59 s later: still the same connections.
      icmp({ ts: 59, src: A, dst: B, type: 8 }),
      ipProto({ ts: 59, src: A, dst: B, proto: 89 }),
      // Another 61 s: both have ended; the next packets begin new ones.
      udp({ ts: 125, src: A, sport: 1, dst: B, dport: 2 }),
      icmp({ ts: 126, src: A, dst: B, type: 8 }),
      ipProto({ ts: 126, src: A, dst: B, proto: 89 }),
    ]);
    const summary = flows.map((f) => `${f.transport} ${f.orig.packets} ${f.endReason}`);
    expect(summary).toEqual(['icmp 2 idle', 'unknown_transport 2 idle', 'udp 1 capture-end', 'icmp 1 capture-end', 'unknown_transport 1 capture-end']);
    const { flows: shorter } = run([icmp({ ts: 0, src: A, dst: B, type: 8 }), udp({ ts: 20, src: A, sport: 1, dst: B, dport: 2 }), icmp({ ts: 21, src: A, dst: B, type: 8 })], {
      icmpIdleTimeout: 10,
    });
    expect(shorter.map((f) => `${f.transport} ${f.orig.packets} ${f.endReason}`)).toEqual(['icmp 1 idle', 'udp 1 capture-end', 'icmp 1 capture-end']);
  });

  it('a ping sweep is bounded by --max-flows like a UDP scan: the oldest flows are evicted and counted', () => {
    const sweep: Packet[] = [];
    for (let i = 0; i < 1000; i++) sweep.push(icmp({ ts: i / 1000, src: A, dst: `10.1.${i >> 8}.${i & 255}`, type: 8 }));
    const { flows, table } = run(sweep, { maxFlows: 100 });
    expect(flows).toHaveLength(1000);
    expect(table.stats.evicted).toBe(900);
    expect(flows.filter((f) => f.endReason === 'evicted')).toHaveLength(900);
    // The classifier of an ICMP flow is done from the start: nothing is buffered for it.
    expect(flows.every((f) => f.classifier.done && f.origStream === undefined)).toBe(true);
  });
});
