/**
 * Encapsulations (link.ts, tunnel.ts, decoder.ts): each one built around the same inner packets, which
 * must come out with their addresses, ports and the list of encapsulations, outermost first. UDP
 * tunnels give two packets: the datagram (a flow of its own) and, through decodeInner(), the packet in it.
 */
import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/decode/decoder.js';
import type { DecodeOutcome, Packet } from '../../src/decode/packet.js';
import { isTunnelServerPort, isUdpTunnelPort } from '../../src/decode/tunnel.js';
import {
  ascii,
  ayiya,
  bytes,
  eth,
  fabricpath,
  frame,
  gre,
  gtp,
  ipv4,
  ipv6,
  mpls,
  pbb,
  pppFrame,
  pppoe,
  radiotap,
  tcp,
  teredo,
  udp,
  v4,
  vntag,
  vxlan,
  wifi,
} from '../helpers/frames.js';

const ETH = 1;
const RAW = 101;

/** The inner packets: TCP over IPv4, UDP over IPv6. */
const V4_TCP = ipv4({ src: v4('10.1.1.1'), dst: v4('10.2.2.2') }, tcp({ sport: 40000, dport: 50051, flags: 0x02 }));
const V6_UDP = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', nh: 17 }, udp({ sport: 5353, dport: 53 }, ascii('query')));

/** An outer IPv4 header between two tunnel endpoints. */
const outer = (proto: number, payload: Uint8Array): Uint8Array => ipv4({ src: v4('192.0.2.1'), dst: v4('192.0.2.2'), proto }, payload);
const outerUdp = (sport: number, dport: number, payload: Uint8Array): Uint8Array => outer(17, udp({ sport, dport }, payload));

function pkt(o: DecodeOutcome | undefined): Packet {
  if (o?.kind !== 'packet') throw new Error(`expected a packet, got ${JSON.stringify(o)}`);
  return o.packet;
}

/** What the tests compare: endpoints, transport and encapsulation. */
const shape = (p: Packet): string =>
  `${p.tcp ? 'tcp' : p.udp ? 'udp' : p.proto} ${p.src}:${(p.tcp ?? p.udp)?.srcPort} > ${p.dst}:${(p.tcp ?? p.udp)?.dstPort} [${(p.encapsulation ?? []).join(',')}]`;

const TCP_IN = 'tcp 10.1.1.1:40000 > 10.2.2.2:50051';
const UDP_IN = 'udp 2001:db8::1:5353 > 2001:db8::2:53';

describe('link-layer encapsulations', () => {
  const cases: [string, number, Uint8Array, string][] = [
    ['plain Ethernet carries no encapsulation', ETH, eth(0x0800, V4_TCP), `${TCP_IN} []`],
    ['802.1Q', ETH, eth(0x0800, V4_TCP, [[0x8100, 10]]), `${TCP_IN} [vlan]`],
    ['QinQ is one vlan entry', ETH, eth(0x0800, V4_TCP, [[0x88a8, 10], [0x8100, 20]]), `${TCP_IN} [vlan]`],
    ['MPLS, one label, IPv4', ETH, eth(0x8847, mpls([16], V4_TCP)), `${TCP_IN} [mpls]`],
    ['MPLS multicast, a stack of three labels, IPv6', ETH, eth(0x8848, mpls([16, 17, 18], V6_UDP)), `${UDP_IN} [mpls]`],
    ['MPLS inside 802.1Q', ETH, eth(0x8847, mpls([254, 99], V4_TCP), [[0x8100, 3399]]), `${TCP_IN} [vlan,mpls]`],
    ['MPLS inside QinQ', ETH, eth(0x8847, mpls([1], V4_TCP), [[0x88a8, 1], [0x8100, 2]]), `${TCP_IN} [vlan,mpls]`],
    ['PPPoE session, IPv4', ETH, eth(0x8864, pppoe(0x0021, V4_TCP)), `${TCP_IN} [pppoe]`],
    ['PPPoE session, IPv6', ETH, eth(0x8864, pppoe(0x0057, V6_UDP)), `${UDP_IN} [pppoe]`],
    ['PPPoE inside QinQ', ETH, eth(0x8864, pppoe(0x0021, V4_TCP), [[0x88a8, 1], [0x8100, 2]]), `${TCP_IN} [vlan,pppoe]`],
    ['802.1ah PBB', ETH, eth(0x88e7, pbb(0x0800, V4_TCP)), `${TCP_IN} [pbb]`],
    ['PBB with a tagged customer frame', ETH, eth(0x88e7, pbb(0x8100, bytes([0, 5, 0x08, 0x00], V4_TCP))), `${TCP_IN} [pbb,vlan]`],
    ['VN-tag', ETH, eth(0x8926, vntag(0x0800, V4_TCP)), `${TCP_IN} [vntag]`],
    ['VN-tag between VLAN tags', ETH, eth(0x8926, vntag(0x8100, bytes([0, 7, 0x86, 0xdd], V6_UDP)), [[0x8100, 6]]), `${UDP_IN} [vlan,vntag,vlan]`],
    ['Cisco FabricPath', ETH, fabricpath(eth(0x0800, V4_TCP)), `${TCP_IN} [fabricpath]`],
    ['FabricPath with 802.1Q inside', ETH, fabricpath(eth(0x0800, V4_TCP, [[0x8100, 9]])), `${TCP_IN} [fabricpath,vlan]`],
    ['DLT_PPP, IPv4', 9, pppFrame(0x0021, V4_TCP), `${TCP_IN} []`],
    ['DLT_PPP, IPv6, address and control compressed away', 9, bytes([0x00, 0x57], V6_UDP), `${UDP_IN} []`],
    ['802.11 data frame', 105, wifi(0x0800, V4_TCP), `${TCP_IN} []`],
    ['802.11 QoS data with four addresses', 105, wifi(0x86dd, V6_UDP, { qos: true, fourAddresses: true }), `${UDP_IN} []`],
    ['802.11 with radiotap', 127, radiotap(wifi(0x0800, V4_TCP), 18), `${TCP_IN} []`],
  ];
  it.each(cases)('%s', (_title, linkType, data, expected) => {
    expect(shape(pkt(new Decoder().decode(frame(linkType, data))))).toBe(expected);
  });

  const skipped: [string, number, Uint8Array, string][] = [
    ['MPLS carrying an Ethernet pseudowire (control word)', ETH, eth(0x8847, mpls([5], bytes([0, 0, 0, 0], eth(0x0800, V4_TCP)))), 'mpls: payload is not IP (first nibble 0)'],
    ['PPPoE carrying LCP', ETH, eth(0x8864, pppoe(0xc021, new Uint8Array(8))), 'pppoe: PPP protocol 0xc021'],
    ['PPPoE discovery', ETH, eth(0x8863, new Uint8Array(10)), 'ethertype 0x8863 (PPPoE discovery)'],
    ['DLT_PPP carrying LCP', 9, pppFrame(0xc021, new Uint8Array(8)), 'ppp: PPP protocol 0xc021'],
    ['802.11 beacon (management)', 105, wifi(0x0800, V4_TCP, { fc: 0x80 }), '802.11: management or control frame'],
    ['802.11 null data', 105, wifi(0x0800, V4_TCP, { fc: 0x48 }), '802.11: data frame without data'],
    ['802.11 protected (encrypted) data', 105, wifi(0x0800, V4_TCP, { protectedFrame: true }), '802.11: protected frame'],
  ];
  it.each(skipped)('skips %s', (_title, linkType, data, reason) => {
    expect(new Decoder().decode(frame(linkType, data))).toEqual({ kind: 'skip', reason });
  });

  it('a truncated packet inside MPLS is truncated, not malformed', () => {
    const data = eth(0x8847, mpls([16], V4_TCP));
    const p = pkt(new Decoder().decode(frame(ETH, data.subarray(0, data.length - 4))));
    expect(p.truncated).toBe(true);
    expect(p.encapsulation).toEqual(['mpls']);
  });
});

describe('IP tunnels: the packet is the one inside', () => {
  const ERSPAN2 = bytes([0x10, 0, 0, 1, 0, 0, 0, 0]);
  const ERSPAN3 = (platform: boolean): Uint8Array => bytes([0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, platform ? 1 : 0], platform ? new Uint8Array(8) : []);
  const cases: [string, Uint8Array, string][] = [
    ['IPv4 in IPv4 (protocol 4)', outer(4, V4_TCP), `${TCP_IN} [ip-in-ip]`],
    ['IPv6 in IPv4 (protocol 41)', outer(41, V6_UDP), `${UDP_IN} [ip-in-ip]`],
    ['IPv4 in IPv6 (protocol 4)', ipv6({ nh: 4 }, V4_TCP), `${TCP_IN} [ip-in-ip]`],
    ['GRE carrying IPv4', outer(47, gre({ protocol: 0x0800 }, V4_TCP)), `${TCP_IN} [gre]`],
    ['GRE with checksum, key and sequence number, carrying IPv6', outer(47, gre({ flags: 0xb000, protocol: 0x86dd }, V6_UDP)), `${UDP_IN} [gre]`],
    ['GRE carrying MPLS', outer(47, gre({ protocol: 0x8847 }, mpls([3], V4_TCP))), `${TCP_IN} [gre,mpls]`],
    ['GRE transparent Ethernet bridging', outer(47, gre({ protocol: 0x6558 }, eth(0x0800, V4_TCP, [[0x8100, 4]]))), `${TCP_IN} [gre,vlan]`],
    ['ERSPAN type I', outer(47, gre({ protocol: 0x88be }, eth(0x0800, V4_TCP))), `${TCP_IN} [erspan]`],
    ['ERSPAN type II', outer(47, gre({ flags: 0x1000, protocol: 0x88be }, bytes(ERSPAN2, eth(0x0800, V4_TCP)))), `${TCP_IN} [erspan]`],
    ['ERSPAN type III', outer(47, gre({ flags: 0x1000, protocol: 0x22eb }, bytes(ERSPAN3(false), eth(0x0800, V4_TCP)))), `${TCP_IN} [erspan]`],
    ['ERSPAN type III with its platform subheader', outer(47, gre({ flags: 0x1000, protocol: 0x22eb }, bytes(ERSPAN3(true), eth(0x86dd, V6_UDP)))), `${UDP_IN} [erspan]`],
    ['PPTP (enhanced GRE, PPP, IPv4)', outer(47, gre({ version: 1, flags: 0x3000, protocol: 0x880b }, bytes([0xff, 0x03, 0x00, 0x21], V4_TCP))), `${TCP_IN} [pptp]`],
    ['GRE in IP in IP: two tunnels are allowed', outer(4, outer(47, gre({ protocol: 0x0800 }, V4_TCP))), `${TCP_IN} [ip-in-ip,gre]`],
    ['tunnels inside MPLS inside 802.1Q', eth(0x8847, mpls([1], outer(47, gre({ protocol: 0x0800 }, V4_TCP))), [[0x8100, 1]]), `${TCP_IN} [vlan,mpls,gre]`],
  ];
  it.each(cases)('%s', (_title, data, expected) => {
    const d = new Decoder();
    const linkType = data[0] === 0 ? ETH : RAW;
    expect(shape(pkt(d.decode(frame(linkType, data))))).toBe(expected);
    expect(d.hasInner).toBe(false);
  });

  it('counts packets per encapsulation kind', () => {
    const d = new Decoder();
    d.decode(frame(RAW, outer(47, gre({ protocol: 0x0800 }, V4_TCP))));
    d.decode(frame(RAW, outer(4, outer(47, gre({ protocol: 0x0800 }, V4_TCP)))));
    d.decode(frame(RAW, V4_TCP));
    expect(Object.fromEntries(d.stats.encapsulations)).toEqual({ gre: 2, 'ip-in-ip': 1 });
  });

  it('a GRE protocol type that is not a network layer is skipped with its ethertype', () => {
    expect(new Decoder().decode(frame(RAW, outer(47, gre({ protocol: 0x0806 }, new Uint8Array(28)))))).toEqual({
      kind: 'skip',
      reason: 'ethertype 0x0806 (ARP)',
    });
  });

  it('a malformed packet inside a tunnel is that layer\'s weird', () => {
    const o = new Decoder().decode(frame(RAW, outer(47, gre({ protocol: 0x0800 }, V4_TCP.subarray(0, 12)))));
    expect(o).toEqual({ kind: 'malformed', code: 'truncated_IP', detail: 'truncated header (12 of 20 bytes)' });
  });
});

describe('UDP tunnels: the datagram, then the packet inside it', () => {
  /** Outer datagram and inner packet of one frame. */
  function both(data: Uint8Array, d = new Decoder()): [string, string | undefined] {
    const o = shape(pkt(d.decode(frame(RAW, data))));
    const inner = d.decodeInner();
    return [o, inner === undefined ? undefined : inner.kind === 'packet' ? shape(inner.packet) : JSON.stringify(inner)];
  }

  it('VXLAN (4789) carries Ethernet', () => {
    expect(both(outerUdp(51000, 4789, vxlan(eth(0x0800, V4_TCP, [[0x8100, 3]]))))).toEqual([
      'udp 192.0.2.1:51000 > 192.0.2.2:4789 []',
      `${TCP_IN} [vxlan,vlan]`,
    ]);
  });

  it('GTP-U (2152) T-PDU carries IP, with or without the optional fields', () => {
    expect(both(outerUdp(2152, 2152, gtp(V4_TCP)))).toEqual(['udp 192.0.2.1:2152 > 192.0.2.2:2152 []', `${TCP_IN} [gtp]`]);
    expect(both(outerUdp(2152, 2152, gtp(V6_UDP, { seq: true })))[1]).toBe(`${UDP_IN} [gtp]`);
  });

  it('GTP-U messages other than T-PDU, GTPv2 and GTP-C (2123) carry no packet', () => {
    expect(both(outerUdp(2152, 2152, gtp(V4_TCP, { type: 0x01 })))[1]).toBeUndefined();
    expect(both(outerUdp(2152, 2152, gtp(V4_TCP, { version: 2 })))[1]).toBeUndefined();
    expect(both(outerUdp(2123, 2123, gtp(V4_TCP)))[1]).toBeUndefined();
  });

  it('Teredo (3544) carries IPv6, with an origin indication too', () => {
    expect(both(outerUdp(3544, 40001, teredo(V6_UDP)))).toEqual(['udp 192.0.2.1:3544 > 192.0.2.2:40001 []', `${UDP_IN} [teredo]`]);
    expect(both(outerUdp(40001, 3544, teredo(V6_UDP, true)))[1]).toBe(`${UDP_IN} [teredo]`);
  });

  it('Teredo checks the inner IPv6 header as Zeek does: its payload length must account for the datagram', () => {
    const longer = bytes(V6_UDP, [0, 0, 0, 0]);
    expect(both(outerUdp(40001, 3544, longer))[1]).toBeUndefined();
    expect(both(outerUdp(40001, 3544, V6_UDP.subarray(0, V6_UDP.length - 1)))[1]).toBeUndefined();
    expect(both(outerUdp(40001, 3544, ascii('not teredo at all, just some bytes to port 3544')))[1]).toBeUndefined();
    // A bubble (no next header, no payload) may have bytes after it.
    const bubble = bytes(ipv6({ nh: 59 }, new Uint8Array(0)), [1, 2, 3]);
    expect(both(outerUdp(40001, 3544, bubble))[1]).toMatch(/^59 .* \[teredo\]$/);
  });

  it('AYIYA (5072) forward messages carry IPv4 or IPv6; other opcodes carry nothing', () => {
    expect(both(outerUdp(53796, 5072, ayiya(41, V6_UDP)))).toEqual(['udp 192.0.2.1:53796 > 192.0.2.2:5072 []', `${UDP_IN} [ayiya]`]);
    expect(both(outerUdp(5072, 53796, ayiya(4, V4_TCP)))[1]).toBe(`${TCP_IN} [ayiya]`);
    expect(both(outerUdp(53796, 5072, ayiya(41, V6_UDP, 0)))[1]).toBeUndefined();
  });

  it("the tunnels' ports, and GTP-C's, are server ports (Zeek's likely_server_ports); only the tunnels' are decoded", () => {
    expect([4789, 2152, 3544, 5072, 2123, 53, 6081].filter(isTunnelServerPort)).toEqual([4789, 2152, 3544, 5072, 2123]);
    expect([4789, 2152, 3544, 5072, 2123].filter(isUdpTunnelPort)).toEqual([4789, 2152, 3544, 5072]);
  });

  it('the tunnel is the responder port: from a tunnel port to a service port, it is that service', () => {
    // Zeek's core.tunnels.gtp.false_gtp: 2152 -> 53 is DNS, not GTP.
    const dns = new Decoder({ isServicePort: (t, p) => t === 'udp' && p === 53 });
    expect(both(outerUdp(2152, 53, gtp(V4_TCP)), dns)[1]).toBeUndefined();
    expect(both(outerUdp(2152, 40000, gtp(V4_TCP)), dns)[1]).toBe(`${TCP_IN} [gtp]`);
  });

  it('Teredo inside GTP: the GTP datagram, the Teredo datagram, the IPv6 packet', () => {
    const d = new Decoder();
    const teredoUdp = ipv4({ src: v4('10.9.9.9'), dst: v4('94.245.121.253'), proto: 17 }, udp({ sport: 62069, dport: 3544 }, teredo(V6_UDP)));
    expect(shape(pkt(d.decode(frame(RAW, outerUdp(2152, 2152, gtp(teredoUdp))))))).toBe('udp 192.0.2.1:2152 > 192.0.2.2:2152 []');
    expect(shape(pkt(d.decodeInner()))).toBe('udp 10.9.9.9:62069 > 94.245.121.253:3544 [gtp]');
    expect(shape(pkt(d.decodeInner()))).toBe(`${UDP_IN} [gtp,teredo]`);
    expect(d.decodeInner()).toBeUndefined();
    expect(d.stats.inner).toEqual({ packet: 2, fragment: 0, skip: 0, malformed: 0 });
    expect(d.stats.byKind.packet).toBe(1);
    expect(Object.fromEntries(d.stats.encapsulations)).toEqual({ gtp: 2, teredo: 1 });
  });

  it('a third tunnel is not decoded: exceeded_tunnel_max_depth, and the second datagram is still a packet', () => {
    const d = new Decoder();
    const gtpIn = (payload: Uint8Array): Uint8Array => outerUdp(2152, 2152, gtp(payload));
    pkt(d.decode(frame(RAW, gtpIn(gtpIn(gtpIn(V4_TCP))))));
    expect(shape(pkt(d.decodeInner()))).toBe('udp 192.0.2.1:2152 > 192.0.2.2:2152 [gtp]');
    expect(shape(pkt(d.decodeInner()))).toBe('udp 192.0.2.1:2152 > 192.0.2.2:2152 [gtp,gtp]');
    expect(d.decodeInner()).toBeUndefined();
    expect([...d.stats.malformedReasons]).toEqual([['tunnel: gtp inside 2 tunnels', 1]]);
  });

  it('a malformed packet inside a UDP tunnel is a weird of the inner packet, the datagram stays a packet', () => {
    const d = new Decoder();
    pkt(d.decode(frame(RAW, outerUdp(2152, 2152, gtp(ipv4({ ihl: 3 }, tcp({})))))));
    expect(d.decodeInner()).toEqual({ kind: 'malformed', code: 'IPv4_min_header_size', detail: 'header length 12 < 20' });
    expect(d.stats.byKind).toEqual({ packet: 1, fragment: 0, skip: 0, malformed: 0 });
    expect(d.stats.inner.malformed).toBe(1);
    expect([...d.stats.malformedCodes]).toEqual([['IPv4_min_header_size', 1]]);
  });

  it('the next frame forgets a packet left waiting', () => {
    const d = new Decoder();
    d.decode(frame(RAW, outerUdp(2152, 2152, gtp(V4_TCP))));
    expect(d.hasInner).toBe(true);
    d.decode(frame(RAW, V4_TCP));
    expect(d.hasInner).toBe(false);
    expect(d.decodeInner()).toBeUndefined();
  });
});
