import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/decode/decoder.js';
import { FragmentReassembler, PIECE_OVERHEAD, type Fragment } from '../../src/decode/fragments.js';
import type { DecodeOutcome, Packet } from '../../src/decode/packet.js';
import { ascii, bytes, frag6, frame, ipv4, ipv6, tcp, udp, weirdOf } from '../helpers/frames.js';

const RAW = 101;
const text = (b: Uint8Array): string => String.fromCharCode(...b);

function pkt(o: DecodeOutcome | undefined): Packet {
  if (o?.kind !== 'packet') throw new Error(`expected a packet, got ${JSON.stringify(o)}`);
  return o.packet;
}

/** Split an IPv4 payload into fragments at the given byte offsets. */
function v4frags(payload: Uint8Array, cuts: number[], id = 77, proto = 17): Uint8Array[] {
  const bounds = [0, ...cuts, payload.length];
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i]!;
    const b = bounds[i + 1]!;
    out.push(ipv4({ id, proto, fragOffset: a, mf: i + 2 < bounds.length, src: [10, 1, 1, 1], dst: [10, 2, 2, 2] }, payload.subarray(a, b)));
  }
  return out;
}

const DGRAM = udp({ sport: 5000, dport: 6000 }, ascii('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3))); // 8 + 108 = 116

describe('IPv4 reassembly through the decoder', () => {
  it('reassembles in order and out of order', () => {
    for (const order of [
      [0, 1, 2],
      [2, 0, 1],
      [1, 2, 0],
    ]) {
      const d = new Decoder();
      const frags = v4frags(DGRAM, [48, 96]);
      const outs = order.map((i, n) => d.decode(frame(RAW, frags[i]!, 10 + n)));
      expect(outs.slice(0, 2)).toEqual([{ kind: 'fragment' }, { kind: 'fragment' }]);
      const p = pkt(outs[2]);
      expect(p).toMatchObject({ src: '10.1.1.1', dst: '10.2.2.2', proto: 17, reassembled: true, truncated: false, payloadLen: 108, ipLen: 136, ts: 12 });
      expect(p.udp).toEqual({ srcPort: 5000, dstPort: 6000, length: 116 });
      expect(text(p.payload)).toBe('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3));
      expect(d.stats.fragments).toMatchObject({ fragments: 3, reassembled: 1, overlaps: 0 });
      expect(d.stats.reassembled).toBe(1);
      expect(d.reassembler.pending).toBe(0);
      expect(d.reassembler.bufferedBytes).toBe(0);
    }
  });

  it('keeps datagrams with different ids, protocols or addresses apart', () => {
    const d = new Decoder();
    const a = v4frags(DGRAM, [64], 1, 17);
    const b = v4frags(DGRAM, [64], 2, 17);
    const c = v4frags(DGRAM, [64], 1, 6);
    expect(d.decode(frame(RAW, a[0]!)).kind).toBe('fragment');
    expect(d.decode(frame(RAW, b[1]!)).kind).toBe('fragment');
    expect(d.decode(frame(RAW, c[1]!)).kind).toBe('fragment');
    expect(d.reassembler.pending).toBe(3);
    expect(pkt(d.decode(frame(RAW, a[1]!))).udp?.dstPort).toBe(6000);
    expect(d.reassembler.pending).toBe(2);
  });

  it('overlaps: the first data wins', () => {
    const d = new Decoder();
    const good = ascii('A'.repeat(16) + 'B'.repeat(16) + 'C'.repeat(16));
    const frags = [
      ipv4({ id: 5, proto: 99, fragOffset: 0, mf: true }, good.subarray(0, 24)),
      ipv4({ id: 5, proto: 99, fragOffset: 16, mf: true }, ascii('X'.repeat(16))), // overlaps [16,24) and fills [24,32)
      ipv4({ id: 5, proto: 99, fragOffset: 32, mf: false }, good.subarray(32)),
    ];
    expect(d.decode(frame(RAW, frags[0]!)).kind).toBe('fragment');
    expect(d.decode(frame(RAW, frags[1]!)).kind).toBe('fragment');
    const p = pkt(d.decode(frame(RAW, frags[2]!)));
    expect(text(p.payload)).toBe('A'.repeat(16) + 'B'.repeat(8) + 'X'.repeat(8) + 'C'.repeat(16));
    expect(p.proto).toBe(99);
    expect(d.stats.fragments.overlaps).toBe(1);
  });

  it('rejects a fragment that would end beyond 65535 bytes', () => {
    const d = new Decoder();
    const o = d.decode(frame(RAW, ipv4({ id: 9, fragOffset: 65528, mf: false }, new Uint8Array(16))));
    expect(weirdOf(o)).toBe('ipv4_excessively_large_fragment');
  });

  it('reassembles a datagram whose fragments were cut by the snaplen, marking it truncated', () => {
    const d = new Decoder();
    const frags = v4frags(DGRAM, [56]);
    expect(d.decode(frame(RAW, frags[0]!.subarray(0, 20 + 30))).kind).toBe('fragment');
    const p = pkt(d.decode(frame(RAW, frags[1]!)));
    expect(p).toMatchObject({ reassembled: true, truncated: true, payloadLen: 108 });
    expect(p.udp?.length).toBe(116);
    expect(p.payload.length).toBe(22); // 30 captured - 8 UDP header
  });

  it('times out datagrams by packet time, not the clock', () => {
    const d = new Decoder({ fragments: { timeoutSec: 30 } });
    const frags = v4frags(DGRAM, [48, 96]);
    expect(d.decode(frame(RAW, frags[0]!, 1000)).kind).toBe('fragment');
    expect(d.decode(frame(RAW, frags[1]!, 1029)).kind).toBe('fragment');
    // 31 s after the first fragment: the partial datagram is gone, this fragment starts a new one.
    expect(d.decode(frame(RAW, frags[2]!, 1031)).kind).toBe('fragment');
    expect(d.stats.fragments.timedOut).toBe(1);
    expect(d.stats.fragments.reassembled).toBe(0);
    // Any later frame expires the rest.
    d.decode(frame(RAW, ipv4({}, tcp({})), 1062));
    expect(d.stats.fragments.timedOut).toBe(2);
    expect(d.reassembler.pending).toBe(0);
    expect(d.reassembler.bufferedBytes).toBe(0);
  });
});

describe('IPv6 reassembly through the decoder', () => {
  it('reassembles and walks headers inside the fragmentable part', () => {
    const d = new Decoder();
    const inner = bytes([6, 0, 0, 0, 0, 0, 0, 0], tcp({ sport: 8080, dport: 443, flags: 0x18 }, ascii('x'.repeat(60)))); // dstopts + TCP
    const f1 = ipv6({ nh: 44, src: '2001:db8::a', dst: '2001:db8::b' }, bytes(frag6(60, 0, true, 0xdeadbeef), inner.subarray(0, 48)));
    const f2 = ipv6({ nh: 44, src: '2001:db8::a', dst: '2001:db8::b' }, bytes(frag6(60, 48, false, 0xdeadbeef), inner.subarray(48)));
    expect(d.decode(frame(RAW, f2)).kind).toBe('fragment');
    const p = pkt(d.decode(frame(RAW, f1)));
    expect(p).toMatchObject({ ipVersion: 6, src: '2001:db8::a', dst: '2001:db8::b', proto: 6, reassembled: true, payloadLen: 60, ipLen: 40 + 88 });
    expect(p.tcp?.dstPort).toBe(443);
    expect(text(p.payload)).toBe('x'.repeat(60));
  });

  it('passes atomic fragments straight through', () => {
    const d = new Decoder();
    const p = pkt(d.decode(frame(RAW, ipv6({ nh: 44 }, bytes(frag6(17, 0, false, 1), udp({ sport: 1, dport: 2 }, ascii('hi')))))));
    expect(p).toMatchObject({ proto: 17, reassembled: false, payloadLen: 2 });
    expect(d.stats.fragments.fragments).toBe(0);
  });
});

describe('FragmentReassembler bounds', () => {
  const piece = (n: number): Uint8Array => new Uint8Array(n).fill(7);
  /** A UDP fragment behind a 20-byte IPv4 header, at time 0. */
  const fragment = (key: string, offset: number, captured: Uint8Array, wireLen: number, more: boolean): Fragment => ({
    key,
    ts: 0,
    offset,
    captured,
    wireLen,
    more,
    headerLen: 20,
    nextHeader: 17,
  });

  it('evicts the oldest datagram when maxDatagrams is reached', () => {
    const r = new FragmentReassembler({ maxDatagrams: 2 });
    expect(r.add(fragment('a', 0, piece(8), 8, true)).kind).toBe('stored');
    expect(r.add(fragment('b', 0, piece(8), 8, true)).kind).toBe('stored');
    expect(r.add(fragment('c', 0, piece(8), 8, true)).kind).toBe('stored');
    expect(r.stats.evicted).toBe(1);
    expect(r.pending).toBe(2);
    // 'a' is gone: its last fragment alone cannot complete it.
    expect(r.add(fragment('a', 8, piece(8), 8, false)).kind).toBe('stored');
    // Re-creating 'a' evicted the oldest, 'b'; 'c' survived.
    expect(r.stats.evicted).toBe(2);
    expect(r.add(fragment('c', 8, piece(8), 8, false)).kind).toBe('complete');
    expect(r.pending).toBe(1);
  });

  it('evicts the oldest datagrams to respect maxBytes, and never exceeds it', () => {
    const cost = 100 + PIECE_OVERHEAD;
    const r = new FragmentReassembler({ maxBytes: 3 * cost });
    for (const k of ['a', 'b', 'c']) expect(r.add(fragment(k, 0, piece(100), 104, true)).kind).toBe('stored');
    expect(r.bufferedBytes).toBe(3 * cost);
    expect(r.add(fragment('d', 0, piece(100), 104, true)).kind).toBe('stored');
    expect(r.stats.evicted).toBe(1);
    expect(r.bufferedBytes).toBe(3 * cost);
    expect(r.pending).toBe(3);
  });

  it('drops a datagram that cannot fit at all', () => {
    const r = new FragmentReassembler({ maxBytes: 200 });
    expect(r.add(fragment('a', 0, piece(100), 104, true)).kind).toBe('stored');
    expect(r.add(fragment('a', 104, piece(100), 104, true))).toEqual({ kind: 'dropped', reason: 'ip fragment dropped: reassembly memory cap' });
    expect(r.stats).toMatchObject({ droppedOverCap: 1, evicted: 1 });
    expect(r.pending).toBe(0);
    expect(r.bufferedBytes).toBe(0);
  });

  it('clips data past the end set by the last fragment', () => {
    const r = new FragmentReassembler();
    expect(r.add(fragment('a', 8, piece(16), 16, true)).kind).toBe('stored');
    const done = r.add(fragment('a', 0, piece(16), 16, false));
    expect(done.kind).toBe('complete');
    if (done.kind === 'complete') expect(done.data.length).toBe(16);
    expect(r.stats).toMatchObject({ inconsistent: 1, overlaps: 1, reassembled: 1 });
    expect(r.bufferedBytes).toBe(0);
  });
});
