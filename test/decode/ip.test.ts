import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/decode/decoder.js';
import type { DecodeOutcome, Packet } from '../../src/decode/packet.js';
import { ascii, bytes, ext6, frag6, frame, ipv4, ipv6, tcp, udp, weirdOf } from '../helpers/frames.js';

const RAW = 101;

function dec(data: Uint8Array): DecodeOutcome {
  return new Decoder().decode(frame(RAW, data));
}

function pkt(o: DecodeOutcome): Packet {
  if (o.kind !== 'packet') throw new Error(`expected a packet, got ${JSON.stringify(o)}`);
  return o.packet;
}

const text = (b: Uint8Array): string => String.fromCharCode(...b);

describe('IPv4', () => {
  it('rejects a header length below 20', () => {
    expect(weirdOf(dec(ipv4({ ihl: 3 }, tcp({}))))).toBe('IPv4_min_header_size');
  });

  it('rejects a total length below the header length', () => {
    expect(weirdOf(dec(ipv4({ totalLen: 19 }, tcp({}))))).toBe('invalid_IP_header_size');
    expect(weirdOf(dec(ipv4({ options: [1, 1, 1, 1], totalLen: 20 }, tcp({}))))).toBe('invalid_IP_header_size');
  });

  it('reports a header cut before 20 bytes', () => {
    expect(weirdOf(dec(ipv4({}, tcp({})).subarray(0, 12)))).toBe('truncated_IP');
  });

  it('skips options', () => {
    const p = pkt(dec(ipv4({ options: [0x94, 4, 0, 0, 1, 1, 1, 0] }, tcp({ sport: 7, dport: 9 }, ascii('xy')))));
    expect(p.tcp?.srcPort).toBe(7);
    expect(p.ipLen).toBe(50);
    expect(text(p.payload)).toBe('xy');
  });

  it('keeps addresses and protocol when the options were cut off', () => {
    const full = ipv4({ options: new Array<number>(20).fill(1), src: [1, 2, 3, 4] }, tcp({}));
    const p = pkt(dec(full.subarray(0, 30)));
    expect(p).toMatchObject({ src: '1.2.3.4', proto: 6, truncated: true, payloadLen: 20 });
    expect(p.tcp).toBeUndefined();
    expect(p.payload.length).toBe(0);
  });

  it('uses the smaller of total length and captured bytes, flagging truncation', () => {
    const full = ipv4({ proto: 6 }, tcp({}, new Uint8Array(100).fill(0x41)));
    const p = pkt(dec(full.subarray(0, 60)));
    expect(p).toMatchObject({ truncated: true, payloadLen: 100, ipLen: 140 });
    expect(p.payload.length).toBe(20);
  });

  it('reads the ICMP type and code; the payload is what follows the 8-byte header', () => {
    const p = pkt(dec(ipv4({ proto: 1 }, bytes([3, 1, 0, 0, 0, 1, 0, 2], ascii('ping')))));
    expect(p).toMatchObject({ proto: 1, icmp: { type: 3, code: 1 }, payloadLen: 4, truncated: false });
    expect(p.tcp).toBeUndefined();
    expect(p.udp).toBeUndefined();
    expect(text(p.payload)).toBe('ping');
  });

  it('an ICMP message shorter than its 8-byte header (captured or on the wire) has no icmp header', () => {
    const short = pkt(dec(ipv4({ proto: 1 }, bytes([8, 0, 0, 0, 0, 1]))));
    expect(short).toMatchObject({ proto: 1, payloadLen: 6, truncated: true });
    expect(short.icmp).toBeUndefined();
    const full = ipv4({ proto: 1 }, bytes([8, 0, 0, 0, 0, 1, 0, 2], ascii('ping')));
    const cut = pkt(dec(full.subarray(0, full.length - 8)));
    expect(cut.icmp).toBeUndefined();
    expect(cut.truncated).toBe(true);
  });

  it('returns other protocols with the IP payload', () => {
    const p = pkt(dec(ipv4({ proto: 89 }, ascii('ospf hello'))));
    expect(p).toMatchObject({ proto: 89, payloadLen: 10, truncated: false });
    expect(p.icmp).toBeUndefined();
    expect(text(p.payload)).toBe('ospf hello');
  });
});

describe('TCP', () => {
  it('reads ports, unsigned seq/ack, flags, window and header length', () => {
    const p = pkt(dec(ipv4({}, tcp({ sport: 65535, dport: 1, seq: 0xffffffff, ack: 0x80000000, flags: 0xd2, win: 1024, hl: 32 }, ascii('data')))));
    expect(p.tcp).toEqual({ srcPort: 65535, dstPort: 1, seq: 4294967295, ack: 2147483648, flags: 0xd2, window: 1024, headerLen: 32 });
    expect(p.payloadLen).toBe(4);
    expect(text(p.payload)).toBe('data');
  });

  it('rejects a data offset below 5 words', () => {
    expect(weirdOf(dec(ipv4({}, tcp({ doff: 4 }))))).toBe('bad_TCP_header_len');
  });

  it('rejects a header longer than the segment', () => {
    expect(weirdOf(dec(ipv4({}, tcp({ doff: 15 }))))).toBe('tcp_header_beyond_segment');
  });

  it('rejects a segment too short for a TCP header', () => {
    expect(weirdOf(dec(ipv4({}, tcp({}).subarray(0, 12))))).toBe('tcp_truncated_header');
  });

  it('flags options beyond the captured bytes as truncated, keeping the header', () => {
    const full = ipv4({}, tcp({ hl: 40, sport: 25 }));
    const p = pkt(dec(full.subarray(0, 54)));
    expect(p.truncated).toBe(true);
    expect(p.tcp).toMatchObject({ srcPort: 25, headerLen: 40 });
    expect(p.payloadLen).toBe(0);
    expect(p.payload.length).toBe(0);
  });

  it('without the fixed header captured: truncated packet, no tcp, the IP payload as payload', () => {
    const full = ipv4({}, tcp({}, new Uint8Array(10)));
    const p = pkt(dec(full.subarray(0, 30)));
    expect(p).toMatchObject({ proto: 6, truncated: true, payloadLen: 30 });
    expect(p.tcp).toBeUndefined();
    expect(p.payload.length).toBe(10);
  });
});

describe('UDP', () => {
  it('uses the UDP length, ignoring IP padding after it', () => {
    const p = pkt(dec(ipv4({ proto: 17 }, bytes(udp({ sport: 53, dport: 999, len: 12 }, ascii('abcd')), [0, 0, 0, 0]))));
    expect(p.udp).toEqual({ srcPort: 53, dstPort: 999, length: 12 });
    expect(p.payloadLen).toBe(4);
    expect(text(p.payload)).toBe('abcd');
  });

  it('rejects a length below 8 or beyond the IP payload', () => {
    expect(weirdOf(dec(ipv4({ proto: 17 }, udp({ len: 7 }, ascii('abcd')))))).toBe('udp_bad_length');
    expect(weirdOf(dec(ipv4({ proto: 17 }, udp({ len: 13 }, ascii('abcd')))))).toBe('UDP_datagram_length_mismatch');
    expect(weirdOf(dec(ipv4({ proto: 17 }, new Uint8Array(6))))).toBe('udp_truncated_header');
  });

  it('keeps the header and flags truncation when the datagram was cut', () => {
    const full = ipv4({ proto: 17 }, udp({ sport: 1, dport: 2 }, new Uint8Array(100)));
    const p = pkt(dec(full.subarray(0, 40)));
    expect(p).toMatchObject({ truncated: true, payloadLen: 100 });
    expect(p.udp).toEqual({ srcPort: 1, dstPort: 2, length: 108 });
    expect(p.payload.length).toBe(12);
  });
});

describe('IPv6 extension headers', () => {
  const body = tcp({ sport: 1111, dport: 80, flags: 0x18 }, ascii('GET /'));

  it.each([
    ['hop-by-hop', [0], () => bytes(ext6(6), body)],
    ['routing', [43], () => bytes(ext6(6, 2), body)],
    ['destination options', [60], () => bytes(ext6(6, 1), body)],
    ['mobility then dstopts', [135], () => bytes(ext6(60), ext6(6), body)],
    ['AH', [51], () => bytes([6, 4], new Array<number>(22).fill(0), body)],
    ['hop-by-hop, routing, atomic fragment, dstopts', [0], () => bytes(ext6(43), ext6(44, 1), frag6(60, 0, false, 7), ext6(6), body)],
  ] as [string, number[], () => Uint8Array][])('walks %s to TCP', (_n, [nh], make) => {
    const payload = make();
    const p = pkt(dec(ipv6({ nh: nh!, src: '2001:db8:1::2', dst: '2001:db8:1::1' }, payload)));
    expect(p).toMatchObject({ proto: 6, src: '2001:db8:1::2', dst: '2001:db8:1::1', payloadLen: 5, reassembled: false, truncated: false });
    expect(p.tcp?.srcPort).toBe(1111);
    expect(text(p.payload)).toBe('GET /');
  });

  it('stops at ESP and at no-next-header', () => {
    expect(pkt(dec(ipv6({ nh: 60 }, bytes(ext6(50), new Uint8Array(16))))).proto).toBe(50);
    const p = pkt(dec(ipv6({ nh: 59 }, new Uint8Array(0))));
    expect(p).toMatchObject({ proto: 59, payloadLen: 0, ipLen: 40 });
  });

  it('rejects hop-by-hop after another header', () => {
    expect(weirdOf(dec(ipv6({ nh: 60 }, bytes(ext6(0), ext6(6), body))))).toBe('ipv6_hop_by_hop_not_first');
  });

  it('rejects an extension header beyond the payload length', () => {
    expect(weirdOf(dec(ipv6({ nh: 43, plen: 8 }, bytes(ext6(6, 1), body))))).toBe('ipv6_ext_header_beyond_payload');
  });

  it('reports an extension header cut by the snaplen', () => {
    const full = ipv6({ nh: 60 }, bytes(ext6(6, 3), body));
    expect(weirdOf(dec(full.subarray(0, 50)))).toBe('ipv6_ext_header_truncated');
  });

  it('treats payload length 0 with hop-by-hop as a jumbogram (use captured)', () => {
    const p = pkt(dec(ipv6({ nh: 0, plen: 0 }, bytes(ext6(17), udp({ sport: 9, dport: 10, len: 0 }, ascii('jumbo'))))));
    expect(p).toMatchObject({ proto: 17, payloadLen: 5, truncated: false });
    expect(p.udp?.length).toBe(13);
  });

  it('uses the payload length, flagging truncation and ignoring trailing bytes', () => {
    const full = ipv6({ nh: 6 }, body);
    expect(pkt(dec(bytes(full, [1, 2, 3]))).payload.length).toBe(5);
    const cut = pkt(dec(full.subarray(0, 64)));
    expect(cut).toMatchObject({ truncated: true, payloadLen: 5, ipLen: 65 });
    expect(cut.payload.length).toBe(4);
  });

  it('reports a header cut before 40 bytes', () => {
    expect(weirdOf(dec(ipv6({}, body).subarray(0, 39)))).toBe('truncated_IPv6');
  });

  it('rejects a non-last fragment whose length is not a multiple of 8', () => {
    expect(weirdOf(dec(ipv6({ nh: 44 }, bytes(frag6(17, 0, true, 1), new Uint8Array(12)))))).toBe('ipv6_fragment_not_multiple_of_8');
  });
});
