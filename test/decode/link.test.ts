import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/decode/decoder.js';
import {
  decodeLink,
  isSupportedLinkType,
  newLinkResult,
  NET_IPV4,
  NET_IPV6,
  SUPPORTED_LINK_TYPES,
} from '../../src/decode/link.js';
import type { DecodeOutcome, Packet } from '../../src/decode/packet.js';
import { bytes, eth, frame, ipv4, ipv6, sll, sll2, tcp, udp, ascii, weirdOf } from '../helpers/frames.js';

function decode1(linkType: number, data: Uint8Array): DecodeOutcome {
  return new Decoder().decode(frame(linkType, data));
}

function pkt(o: DecodeOutcome): Packet {
  if (o.kind !== 'packet') throw new Error(`expected a packet, got ${JSON.stringify(o)}`);
  return o.packet;
}

const V4_TCP = ipv4({ src: [192, 0, 2, 1], dst: [198, 51, 100, 7], proto: 6 }, tcp({ sport: 40000, dport: 443, seq: 0xfffffffe, flags: 0x18 }, ascii('hello')));
const V6_UDP = ipv6({ src: '2001:db8::1', dst: 'fe80::2', nh: 17 }, udp({ sport: 546, dport: 547 }, ascii('dhcp')));

describe('supported link types', () => {
  it('lists exactly the link types the decoder handles', () => {
    expect([...SUPPORTED_LINK_TYPES].sort((a, b) => a - b)).toEqual([0, 1, 9, 12, 14, 101, 105, 108, 113, 127, 228, 229, 276]);
    expect(isSupportedLinkType(1)).toBe(true);
    expect(isSupportedLinkType(276)).toBe(true);
    expect(isSupportedLinkType(127)).toBe(true);
    expect(isSupportedLinkType(160)).toBe(false);
    expect(isSupportedLinkType(192)).toBe(false);
  });

  it('skips an unsupported link type with its number', () => {
    expect(decode1(160, V4_TCP)).toEqual({ kind: 'skip', reason: 'unsupported link type 160' });
  });
});

describe('Ethernet', () => {
  it('decodes IPv4/TCP', () => {
    const p = pkt(decode1(1, eth(0x0800, V4_TCP)));
    expect(p).toMatchObject({ ipVersion: 4, src: '192.0.2.1', dst: '198.51.100.7', proto: 6, payloadLen: 5, ipLen: 45, truncated: false });
    expect(p.tcp).toEqual({ srcPort: 40000, dstPort: 443, seq: 0xfffffffe, ack: 0, flags: 0x18, window: 65535, headerLen: 20 });
    expect(text(p.payload)).toBe('hello');
  });

  it('ignores Ethernet padding after a short datagram', () => {
    const p = pkt(decode1(1, bytes(eth(0x0800, V4_TCP), new Array<number>(20).fill(0xee))));
    expect(p.payload.length).toBe(5);
    expect(p.truncated).toBe(false);
  });

  it.each([
    ['802.1Q', [[0x8100, 100]]],
    ['802.1ad + 802.1Q', [[0x88a8, 10], [0x8100, 20]]],
    ['0x9100 + 802.1Q', [[0x9100, 10], [0x8100, 20]]],
    ['three tags', [[0x88a8, 1], [0x8100, 2], [0x8100, 3]]],
  ] as [string, [number, number][]][])('walks VLAN tags: %s', (_name, tags) => {
    const p = pkt(decode1(1, eth(0x86dd, V6_UDP, tags)));
    expect(p).toMatchObject({ ipVersion: 6, src: '2001:db8::1', dst: 'fe80::2', proto: 17 });
    expect(p.udp).toEqual({ srcPort: 546, dstPort: 547, length: 12 });
  });

  it('reports a truncated VLAN tag', () => {
    const f = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00]);
    expect(weirdOf(decode1(1, f))).toBe('truncated_VLAN_header');
  });

  it('skips non-IP ethertypes, naming them', () => {
    expect(decode1(1, eth(0x0806, new Uint8Array(28)))).toEqual({ kind: 'skip', reason: 'ethertype 0x0806 (ARP)' });
    expect(decode1(1, eth(0x88cc, new Uint8Array(28)))).toEqual({ kind: 'skip', reason: 'ethertype 0x88cc (LLDP)' });
    expect(decode1(1, eth(0x1234, new Uint8Array(28)))).toEqual({ kind: 'skip', reason: 'ethertype 0x1234' });
    expect(decode1(1, eth(0x0806, new Uint8Array(28), [[0x8100, 5]]))).toEqual({ kind: 'skip', reason: 'ethertype 0x0806 (ARP)' });
  });

  it('handles 802.3 frames: LLC skipped, SNAP with an ethertype decoded', () => {
    expect(decode1(1, eth(38, bytes([0x42, 0x42, 0x03], new Uint8Array(35))))).toEqual({ kind: 'skip', reason: 'ethernet: 802.3 LLC frame' });
    const snap = bytes([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], V4_TCP);
    expect(pkt(decode1(1, eth(snap.length, snap))).src).toBe('192.0.2.1');
  });

  it('reports a frame shorter than the Ethernet header', () => {
    expect(weirdOf(decode1(1, new Uint8Array(13)))).toBe('truncated_ethernet_frame');
  });

  it('reports an IPv4 ethertype carrying IPv6', () => {
    expect(weirdOf(decode1(1, eth(0x0800, V6_UDP)))).toBe('ipv4_bad_version');
    expect(weirdOf(decode1(1, eth(0x86dd, V4_TCP)))).toBe('ipv6_bad_version');
  });
});

describe('Linux cooked captures', () => {
  it('SLL (113): protocol at offset 14', () => {
    expect(pkt(decode1(113, sll(0x0800, V4_TCP))).src).toBe('192.0.2.1');
    expect(pkt(decode1(113, sll(0x86dd, V6_UDP))).dst).toBe('fe80::2');
    expect(pkt(decode1(113, sll(0x8100, bytes([0, 5, 0x08, 0x00], V4_TCP)))).tcp?.dstPort).toBe(443);
  });

  it('SLL2 (276): protocol at offset 0', () => {
    expect(pkt(decode1(276, sll2(0x0800, V4_TCP))).src).toBe('192.0.2.1');
    expect(pkt(decode1(276, sll2(0x86dd, V6_UDP))).dst).toBe('fe80::2');
  });

  it('skips non-ethertype protocols and netlink, reports short headers', () => {
    expect(decode1(113, sll(0x0004, new Uint8Array(20)))).toEqual({ kind: 'skip', reason: 'linux sll: protocol 0x0004' });
    expect(decode1(276, sll2(0x0000, new Uint8Array(20), 824))).toEqual({ kind: 'skip', reason: 'linux sll2: netlink' });
    expect(decode1(113, sll(0x0806, new Uint8Array(28)))).toEqual({ kind: 'skip', reason: 'ethertype 0x0806 (ARP)' });
    expect(weirdOf(decode1(113, new Uint8Array(15)))).toBe('truncated_Linux_SLL_header');
    expect(weirdOf(decode1(276, new Uint8Array(19)))).toBe('truncated_Linux_SLL2_header');
  });
});

describe('raw IP', () => {
  it.each([101, 12, 14])('link type %i: the version nibble decides', (lt) => {
    expect(pkt(decode1(lt, V4_TCP)).ipVersion).toBe(4);
    expect(pkt(decode1(lt, V6_UDP)).ipVersion).toBe(6);
    expect(weirdOf(decode1(lt, bytes([0x50], new Uint8Array(39))))).toBe('unknown_ip_version');
    expect(weirdOf(decode1(lt, new Uint8Array(0)))).toBe('raw_ip_empty_frame');
  });

  it('IPV4 (228) and IPV6 (229) check the version nibble', () => {
    expect(pkt(decode1(228, V4_TCP)).src).toBe('192.0.2.1');
    expect(pkt(decode1(229, V6_UDP)).src).toBe('2001:db8::1');
    expect(weirdOf(decode1(228, V6_UDP))).toBe('linktype_ip_version_mismatch');
    expect(weirdOf(decode1(229, V4_TCP))).toBe('linktype_ip_version_mismatch');
  });
});

describe('NULL and LOOP', () => {
  const le = (af: number): number[] => [af & 0xff, (af >> 8) & 0xff, 0, 0];
  const be = (af: number): number[] => [0, 0, (af >> 8) & 0xff, af & 0xff];

  it('NULL (0): AF in either byte order', () => {
    expect(pkt(decode1(0, bytes(le(2), V4_TCP))).src).toBe('192.0.2.1');
    expect(pkt(decode1(0, bytes(be(2), V4_TCP))).src).toBe('192.0.2.1');
    for (const af of [10, 24, 28, 30]) {
      expect(pkt(decode1(0, bytes(le(af), V6_UDP))).ipVersion).toBe(6);
      expect(pkt(decode1(0, bytes(be(af), V6_UDP))).ipVersion).toBe(6);
    }
    expect(decode1(0, bytes(le(7), V4_TCP))).toEqual({ kind: 'skip', reason: 'null: address family 7' });
    expect(weirdOf(decode1(0, new Uint8Array(3)))).toBe('null_analyzer_failed');
  });

  it('LOOP (108): AF in network byte order only', () => {
    expect(pkt(decode1(108, bytes(be(2), V4_TCP))).src).toBe('192.0.2.1');
    expect(pkt(decode1(108, bytes(be(30), V6_UDP))).ipVersion).toBe(6);
    expect(decode1(108, bytes(le(2), V4_TCP))).toEqual({ kind: 'skip', reason: 'loop: address family 33554432' });
  });
});

describe('decodeLink', () => {
  it('returns offsets into the frame', () => {
    const out = newLinkResult();
    expect(decodeLink(1, eth(0x0800, V4_TCP, [[0x88a8, 1], [0x8100, 2]]), out)).toBe(NET_IPV4);
    expect(out.offset).toBe(22);
    expect(decodeLink(276, sll2(0x86dd, V6_UDP), out)).toBe(NET_IPV6);
    expect(out.offset).toBe(20);
    expect(decodeLink(0, bytes([30, 0, 0, 0], V6_UDP), out)).toBe(NET_IPV6);
    expect(out.offset).toBe(4);
  });
});

function text(b: Uint8Array): string {
  return String.fromCharCode(...b);
}
