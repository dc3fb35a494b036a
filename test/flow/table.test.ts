import { describe, expect, it } from 'vitest';
import { PAYLOAD_CLASSIFIERS, type ClassifiedFlow } from '../../src/classify/classify.js';
import { connState } from '../../src/flow/flow.js';
import { FlowTable } from '../../src/flow/table.js';
import { ACK, FIN, PSH, RST, SYN, connection, tcp, udp } from '../helpers/packets.js';
import { clientHello } from '../helpers/tls.js';

function run(packets: ReturnType<typeof tcp>[], opts: ConstructorParameters<typeof FlowTable>[0] = {}): ClassifiedFlow[] {
  const ended: ClassifiedFlow[] = [];
  const table = new FlowTable(opts, (f) => ended.push(f), PAYLOAD_CLASSIFIERS);
  for (const p of packets) table.add(p);
  table.flush();
  return ended;
}

const C = '10.0.0.2';
const S = '10.0.0.1';

describe('TCP connection tracking (Zeek conn_state and history)', () => {
  it('a full connection is SF with history ShADadFf-like letters, client = SYN sender', () => {
    const [f] = run(connection({ t0: 100, client: C, cport: 40000, server: S, sport: 50051, request: new Uint8Array(10), response: new Uint8Array(20) }));
    expect(f).toBeDefined();
    expect(f?.client).toEqual({ ip: C, port: 40000 });
    expect(f?.server).toEqual({ ip: S, port: 50051 });
    expect(connState(f as ClassifiedFlow)).toBe('SF');
    expect(f?.history).toBe('ShADdFf');
    expect(f?.orig.packets).toBe(5);
    expect(f?.resp.packets).toBe(3);
    expect(f?.orig.payloadBytes).toBe(10);
    expect(f?.resp.payloadBytes).toBe(20);
    expect(f?.start).toBe(100);
    expect(f?.end).toBeCloseTo(100.007, 6);
  });

  it('liveness connect/close with no payload is SF', () => {
    const [f] = run(connection({ t0: 1, client: C, cport: 40001, server: S, sport: 50051 }));
    expect(connState(f as ClassifiedFlow)).toBe('SF');
    expect(f?.orig.payloadBytes).toBe(0);
  });

  it('refused is REJ, unanswered is S0, established and left open is S1', () => {
    expect(connState(run(connection({ t0: 1, client: C, cport: 1, server: S, sport: 22, end: 'refused' }))[0] as ClassifiedFlow)).toBe('REJ');
    expect(connState(run(connection({ t0: 1, client: C, cport: 1, server: S, sport: 22, end: 'unanswered' }))[0] as ClassifiedFlow)).toBe('S0');
    const open = run(connection({ t0: 1, client: C, cport: 1, server: S, sport: 14000, request: new Uint8Array(5), end: 'open' }));
    expect(connState(open[0] as ClassifiedFlow)).toBe('S1');
    expect(open[0]?.endReason).toBe('capture-end');
  });

  it('RST by the client after data is RSTO, by the server RSTR', () => {
    const base = connection({ t0: 1, client: C, cport: 5, server: S, sport: 80, request: new Uint8Array(3), end: 'open' });
    const rsto = run([...base, tcp({ ts: 2, src: C, sport: 5, dst: S, dport: 80, flags: RST, seq: 1004 })]);
    expect(connState(rsto[0] as ClassifiedFlow)).toBe('RSTO');
    const rstr = run([...base, tcp({ ts: 2, src: S, sport: 80, dst: C, dport: 5, flags: RST, seq: 5001 })]);
    expect(connState(rstr[0] as ClassifiedFlow)).toBe('RSTR');
  });

  it('a SYN-ACK seen first flips the direction (history ^)', () => {
    const [f] = run([
      tcp({ ts: 1, src: S, sport: 50051, dst: C, dport: 40000, flags: SYN | ACK, seq: 9 }),
      tcp({ ts: 1.1, src: C, sport: 40000, dst: S, dport: 50051, flags: ACK, seq: 2 }),
    ]);
    expect(f?.client).toEqual({ ip: C, port: 40000 });
    expect(f?.flipped).toBe(true);
    expect(f?.history.startsWith('^')).toBe(true);
  });

  it('mid-stream pickup: the side on a matrix service port is the server, whoever spoke first', () => {
    const isServicePort = (_t: 'tcp' | 'udp', p: number): boolean => p === 50051;
    const [f] = run([tcp({ ts: 1, src: S, sport: 50051, dst: C, dport: 40000, flags: PSH | ACK, seq: 77, payload: new Uint8Array(4) })], {
      isServicePort,
    });
    expect(f?.client).toEqual({ ip: C, port: 40000 });
    expect(f?.pickup).toBe(true);
    expect(connState(f as ClassifiedFlow)).toBe('OTH');
    // Without the port hint the first sender is the client.
    const [g] = run([tcp({ ts: 1, src: S, sport: 50051, dst: C, dport: 40000, flags: ACK, seq: 77 })]);
    expect(g?.client.ip).toBe(S);
  });

  it('once classified and established, segments are still counted and new letters, FIN and RST still count', () => {
    // The classifier is done at the client's first request (HTTP/1): every later segment takes the
    // table's short path unless it brings something new.
    const request = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: s\r\n\r\n');
    // Sequence numbers move on with the data: a segment that does not is a retransmission (T).
    const n = request.length;
    const c = (ts: number, flags: number, seq: number, payload?: Uint8Array) =>
      tcp({ ts, src: C, sport: 40000, dst: S, dport: 8080, flags, seq, ...(payload ? { payload } : {}) });
    const s = (ts: number, flags: number, seq: number, payload?: Uint8Array) =>
      tcp({ ts, src: S, sport: 8080, dst: C, dport: 40000, flags, seq, ...(payload ? { payload } : {}) });
    const [f] = run([
      c(1, SYN, 0),
      s(1.1, SYN | ACK, 0),
      c(1.2, ACK, 1),
      c(1.3, PSH | ACK, 1, request),
      s(1.4, ACK, 1), // the server's first pure ACK: a new letter
      s(1.5, PSH | ACK, 1, new Uint8Array(100)), // its first data: another
      c(1.6, ACK, 1 + n, new Uint8Array(7)),
      c(1.7, ACK, 8 + n),
      s(1.8, PSH | ACK, 101, new Uint8Array(50)),
      s(1.9, FIN | ACK, 151),
      c(2.0, ACK, 8 + n),
      c(2.1, RST, 8 + n),
    ]);
    expect(f?.classifier.result.service).toBe('http');
    expect(f?.history).toBe('ShADadfR');
    expect(connState(f as ClassifiedFlow)).toBe('RSTO');
    expect(f?.orig.packets).toBe(7);
    expect(f?.resp.packets).toBe(5);
    expect(f?.orig.payloadBytes).toBe(request.length + 7);
    expect(f?.resp.payloadBytes).toBe(150);
    expect(f?.end).toBe(2.1);
    expect(f?.endReason).toBe('closed');
  });

  it('a new SYN after a closed connection on the same ports starts a new flow', () => {
    const first = connection({ t0: 1, client: C, cport: 40000, server: S, sport: 50051 });
    const second = connection({ t0: 2, client: C, cport: 40000, server: S, sport: 50051, end: 'refused' });
    const flows = run([...first, ...second]);
    expect(flows.map((f) => connState(f))).toEqual(['SF', 'REJ']);
    expect(flows.map((f) => f.id)).toEqual([1, 2]);
  });

  it('idle and closed flows leave the table by packet time, never the clock', () => {
    const ended: ClassifiedFlow[] = [];
    const table = new FlowTable({ tcpIdleTimeout: 300, udpIdleTimeout: 60, closeDelay: 5 }, (f) => ended.push(f), PAYLOAD_CLASSIFIERS);
    for (const p of connection({ t0: 1000, client: C, cport: 1, server: S, sport: 50051 })) table.add(p);
    table.add(udp({ ts: 1000, src: C, sport: 5000, dst: S, dport: 9999 }));
    expect(ended).toHaveLength(0);
    table.add(udp({ ts: 1010, src: C, sport: 5001, dst: S, dport: 9999 }));
    expect(ended.map((f) => f.endReason)).toEqual(['closed']);
    table.add(udp({ ts: 1070, src: C, sport: 5002, dst: S, dport: 9999 }));
    expect(ended.map((f) => `${f.transport}:${f.endReason}`)).toEqual(['tcp:closed', 'udp:idle', 'udp:idle']);
    expect(table.stats.timedOut).toBe(2);
  });

  it('the flow cap evicts the oldest flow and counts it', () => {
    const packets = [];
    for (let i = 0; i < 50; i++) packets.push(tcp({ ts: 1 + i / 1000, src: '192.0.2.9', sport: 1000 + i, dst: C, dport: 22, flags: SYN }));
    const ended: ClassifiedFlow[] = [];
    const table = new FlowTable({ maxFlows: 10 }, (f) => ended.push(f), PAYLOAD_CLASSIFIERS);
    for (const p of packets) table.add(p);
    expect(table.stats.active).toBe(10);
    expect(table.stats.evicted).toBe(40);
    expect(ended.slice(0, 3).map((f) => f.client.port)).toEqual([1000, 1001, 1002]);
    expect(ended.every((f) => f.endReason === 'evicted')).toBe(true);
  });
});

describe('UDP flows', () => {
  it('the first sender is the client; no reply is S0, a reply SF', () => {
    const [a] = run([udp({ ts: 1, src: C, sport: 5555, dst: S, dport: 51820, payload: new Uint8Array(148) })]);
    expect(connState(a as ClassifiedFlow)).toBe('S0');
    const [b] = run([
      udp({ ts: 1, src: C, sport: 5555, dst: S, dport: 51820 }),
      udp({ ts: 2, src: S, sport: 51820, dst: C, dport: 5555 }),
    ]);
    expect(connState(b as ClassifiedFlow)).toBe('SF');
    expect(b?.client.ip).toBe(C);
  });
});

describe('first-bytes reassembly for the classifier', () => {
  it('a ClientHello split over out-of-order, retransmitted segments is read whole', () => {
    const hello = clientHello({ sni: 'researcher.example', alpn: ['h2'], tls13: true });
    const a = hello.subarray(0, 40);
    const b = hello.subarray(40, 100);
    const c = hello.subarray(100);
    const seg = (ts: number, seq: number, payload: Uint8Array) =>
      tcp({ ts, src: C, sport: 40000, dst: S, dport: 50051, flags: PSH | ACK, seq, payload });
    const packets = [
      tcp({ ts: 1, src: C, sport: 40000, dst: S, dport: 50051, flags: SYN, seq: 999 }),
      tcp({ ts: 1.001, src: S, sport: 50051, dst: C, dport: 40000, flags: SYN | ACK, seq: 0 }),
      seg(1.002, 1100, c),
      seg(1.003, 1000, a),
      seg(1.004, 1000, a), // retransmission
      seg(1.005, 1040, b),
      tcp({ ts: 1.006, src: C, sport: 40000, dst: S, dport: 50051, flags: FIN | ACK, seq: 1000 + hello.length }),
    ];
    const [f] = run(packets);
    expect(f?.classifier.result.service).toBe('tls');
    expect(f?.classifier.result.tls?.sni).toBe('researcher.example');
    expect(f?.classifier.result.tls?.alpn).toEqual(['h2']);
  });

  it('a direction gets its prefix at its SYN or first data only: a refused scan probe makes none for the server', () => {
    const live: ClassifiedFlow[] = [];
    const table = new FlowTable({}, () => undefined, PAYLOAD_CLASSIFIERS);
    live.push(table.add(tcp({ ts: 1, src: C, sport: 5, dst: S, dport: 22, flags: SYN, seq: 7 })) as ClassifiedFlow);
    expect(live[0]?.origStream).toBeDefined();
    expect(live[0]?.respStream).toBeUndefined();
    table.add(tcp({ ts: 1.001, src: S, sport: 22, dst: C, dport: 5, flags: RST | ACK }));
    expect(live[0]?.respStream).toBeUndefined();
    // Picked up mid-stream (no service ports here, so the first sender is the client): its first data
    // makes its prefix, starting at that segment; the silent side still has none.
    const f = table.add(tcp({ ts: 2, src: S, sport: 50051, dst: C, dport: 40000, flags: PSH | ACK, seq: 500, payload: new Uint8Array([0x16, 3, 3]) })) as ClassifiedFlow;
    expect(f.client).toEqual({ ip: S, port: 50051 });
    expect(f.origStream?.length).toBe(3);
    expect(f.respStream).toBeUndefined();
  });

  it('segments beyond the 16 KiB window are ignored and the flow is still judged', () => {
    const big = new Uint8Array(20000).fill(0x41);
    const [f] = run([
      tcp({ ts: 1, src: C, sport: 1, dst: S, dport: 50051, flags: SYN, seq: 0 }),
      tcp({ ts: 1.1, src: C, sport: 1, dst: S, dport: 50051, flags: ACK, seq: 1, payload: big }),
    ]);
    expect(f?.classifier.result.service).toBe('unknown');
    expect(f?.orig.payloadBytes).toBe(20000);
  });
});

describe("Zeek's rules for conn_state and history (TCPSessionAdapter.cc, TCP_Endpoint.cc, Conn.cc, UDP.cc)", () => {
  const c = (ts: number, flags: number, seq: number, payload?: Uint8Array) =>
    tcp({ ts, src: C, sport: 40000, dst: S, dport: 50051, flags, seq, ...(payload ? { payload } : {}) });
  const s = (ts: number, flags: number, seq: number, payload?: Uint8Array) =>
    tcp({ ts, src: S, sport: 50051, dst: C, dport: 40000, flags, seq, ...(payload ? { payload } : {}) });
  const handshake = [c(1, SYN, 0), s(1.1, SYN | ACK, 0), c(1.2, ACK, 1)];
  const zeroWindow = (p: ReturnType<typeof tcp>) => ({ ...p, tcp: { ...(p.tcp as NonNullable<typeof p.tcp>), window: 0 } });

  it('a SYN answered by a SYN-ACK is S1 (both sides established at the SYN-ACK)', () => {
    const [f] = run([c(1, SYN, 0), s(1.1, SYN | ACK, 0)]);
    expect(connState(f as ClassifiedFlow)).toBe('S1');
    expect(f?.history).toBe('Sh');
  });

  it('a RST after both FINs leaves the connection SF; so does a FIN answering a FIN-then-RST', () => {
    const [a] = run([...handshake, c(2, FIN | ACK, 1), s(2.1, FIN | ACK, 1), c(2.2, RST, 2)]);
    expect(connState(a as ClassifiedFlow)).toBe('SF');
    expect(a?.history).toBe('ShAFfR');
    const [b] = run([...handshake, c(2, FIN | ACK, 1), c(2.1, RST, 2), s(2.2, FIN | ACK, 1)]);
    expect(connState(b as ClassifiedFlow)).toBe('SF');
    expect(b?.history).toBe('ShAFRf');
    // Without the peer's FIN the RST stands.
    const [d] = run([...handshake, c(2, FIN | ACK, 1), c(2.1, RST, 2)]);
    expect(connState(d as ClassifiedFlow)).toBe('RSTO');
  });

  it('retransmitted data writes T at the 1st, 10th and 100th retransmission, on the fast path as on the slow one', () => {
    const request = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: s\r\n\r\n');
    const data = new Uint8Array(10);
    const again = Array.from({ length: 100 }, (_, i) => s(3 + i / 1000, ACK, 1, data));
    const [f] = run([...handshake, c(2, PSH | ACK, 1, request), s(2.1, ACK, 1, data), ...again]);
    expect(f?.steady).toBe(true);
    expect(f?.history).toBe('ShADdttt');
    // Before classification (no payload a probe can read yet): the slow path.
    const [g] = run([...handshake, c(2, ACK, 1, data), c(2.1, ACK, 1, data), c(2.2, ACK, 11, data)]);
    expect(g?.history).toBe('ShADT');
  });

  it('a zero window writes W (not with a RST, nor after the peer closed)', () => {
    const [f] = run([...handshake, zeroWindow(s(2, ACK, 1)), zeroWindow(s(2.1, ACK, 1)), c(2.2, FIN | ACK, 1), zeroWindow(s(2.3, ACK, 1))]);
    expect(f?.history).toBe('ShAawF');
    const [g] = run([...handshake, zeroWindow(s(2, RST, 1))]);
    expect(g?.history).toBe('ShAr');
  });

  it('FIN+RST is I, other flag mixes Q; a FIN or RST at a new sequence number is written again', () => {
    const [f] = run([...handshake, s(2, SYN | FIN, 0), c(2.1, FIN | RST, 1)]);
    expect(f?.history).toBe('ShAqI');
    const [g] = run([...handshake, c(2, FIN | ACK, 1), c(2.1, FIN | ACK, 1), c(2.2, FIN | ACK, 5)]);
    expect(g?.history).toBe('ShAFF');
  });

  it('a SYN with a new sequence number starts a new connection even before the old one closed; a repeated SYN does not', () => {
    const flows = run([c(1, SYN, 0), c(2, SYN, 0), c(4, SYN, 777)]);
    expect(flows.map((f) => `${connState(f)} ${f.history}`)).toEqual(['S0 S', 'S0 S']);
    // A connection picked up mid-stream, then a real handshake on the same ports: two connections.
    const picked = run([c(1, ACK, 500, new Uint8Array(5)), c(2, SYN, 9000), s(2.1, SYN | ACK, 0)]);
    expect(picked.map((f) => `${connState(f)} ${f.history}`)).toEqual(['OTH D', 'S1 Sh']);
  });

  it('UDP: D for the originator, d for the responder; a reply seen alone from a service port is flipped, never toward 255.255.255.255', () => {
    const [f] = run([udp({ ts: 1, src: C, sport: 5000, dst: S, dport: 53 }), udp({ ts: 1.1, src: S, sport: 53, dst: C, dport: 5000 })]);
    expect(f?.history).toBe('Dd');
    const service = { isServicePort: (_t: 'tcp' | 'udp', port: number) => port === 67 };
    const [g] = run([udp({ ts: 1, src: S, sport: 67, dst: C, dport: 68 })], service);
    expect(g?.client).toEqual({ ip: C, port: 68 });
    expect(`${connState(g as ClassifiedFlow)} ${g?.history}`).toBe('SHR ^d');
    const [b] = run([udp({ ts: 1, src: S, sport: 67, dst: '255.255.255.255', dport: 68 })], service);
    expect(b?.client).toEqual({ ip: S, port: 67 });
    expect(`${connState(b as ClassifiedFlow)} ${b?.history}`).toBe('S0 D');
  });

  describe('content gaps (G/g: TCP_Reassembler::Gap, written when the peer acknowledges data never seen)', () => {
    /** One segment with its ACK number. */
    const seg = (ts: number, fromClient: boolean, flags: number, seq: number, ack: number, len = 0): ReturnType<typeof tcp> => {
      const p = tcp({ ts, src: fromClient ? C : S, sport: fromClient ? 40000 : 80, dst: fromClient ? S : C, dport: fromClient ? 80 : 40000, flags, seq, payload: new Uint8Array(len) });
      return { ...p, tcp: { ...(p.tcp as NonNullable<typeof p.tcp>), ack } };
    };
    const handshake = [seg(1, true, SYN, 1000, 0), seg(1.1, false, SYN | ACK, 5000, 1001), seg(1.2, true, ACK, 1001, 5001)];

    it('a hole in the server data that the client acknowledges is g, once; filled in time it is not', () => {
      const [gap] = run([...handshake, seg(2, false, ACK, 5001, 1001, 10), seg(2.1, false, ACK, 5021, 1001, 10), seg(2.2, true, ACK, 1001, 5031)]);
      expect(gap?.history).toBe('ShAdg');
      const [filled] = run([
        ...handshake,
        seg(2, false, ACK, 5001, 1001, 10),
        seg(2.1, false, ACK, 5021, 1001, 10),
        seg(2.15, false, ACK, 5011, 1001, 10),
        seg(2.2, true, ACK, 1001, 5031),
      ]);
      expect(filled?.history).not.toContain('g');
      // Many segments in order after a hole, then the hole filled: one range, no gap.
      const later = Array.from({ length: 40 }, (_, i) => seg(2.1 + i / 1000, false, ACK, 5021 + 10 * i, 1001, 10));
      const [late] = run([...handshake, seg(2, false, ACK, 5001, 1001, 10), ...later, seg(2.5, false, ACK, 5011, 1001, 10), seg(2.6, true, ACK, 1001, 5421)]);
      expect(late?.history).not.toContain('g');
    });

    it('a gap after the peer closed cleanly still counts; an ACK of the FIN is not a gap', () => {
      const [f] = run([
        ...handshake,
        seg(2, true, ACK | PSH, 1001, 5001, 5),
        seg(2.1, false, ACK | FIN, 5001, 1006, 0),
        seg(2.2, true, ACK, 1006, 5002),
        seg(2.3, true, ACK | FIN, 1006, 5002),
        seg(2.4, false, ACK, 5002, 1007),
      ]);
      expect(f?.history).toBe('ShADfFa');
      const [g] = run([...handshake, seg(2, false, ACK | FIN, 5011, 1001, 10), seg(2.2, true, ACK, 1001, 5022)]);
      expect(g?.history).toBe('ShAfg');
    });

    it('a connection picked up mid-stream reports no gap (Zeek: only established or cleanly closing)', () => {
      const [f] = run([seg(1, false, ACK, 5001, 1001, 10), seg(1.1, true, ACK, 1001, 9000)]);
      expect(f?.history).not.toMatch(/g/i);
    });
  });

  it('a segment whose header options were cut off by the snaplen is counted and nothing more (Zeek drops it: truncated_header)', () => {
    const cut = { ...tcp({ ts: 1, src: S, sport: 443, dst: C, dport: 56960, flags: SYN | ACK }), tcpHeaderCut: true };
    const [f] = run([cut]);
    expect(f?.client).toEqual({ ip: S, port: 443 });
    expect(connState(f as ClassifiedFlow)).toBe('OTH');
    expect(f?.history).toBe('');
    expect(f?.orig.packets).toBe(1);
  });
});
