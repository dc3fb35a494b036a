/**
 * Weirds: one frame per code, its code counted, and the report text (summary.decode.weirds keys)
 * exactly as the report has always written it.
 */
import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/decode/decoder.js';
import { WEIRD_CODES, weirdText, type WeirdCode } from '../../src/decode/weird.js';
import { ascii, ayiya, bytes, eth, ext6, frag6, frame, gre, gtp, ipv4, ipv6, tcp, udp, wifi } from '../helpers/frames.js';

const RAW = 101;
const V4_TCP = ipv4({}, tcp({}));
const V6_UDP = ipv6({ nh: 17 }, udp({}, ascii('x')));
const BODY = tcp({});

/** [code, frames (link type, bytes), report text]: the last frame is the malformed one. */
const CASES: [WeirdCode, [number, Uint8Array][], string][] = [
  ['truncated_ethernet_frame', [[1, new Uint8Array(13)]], 'ethernet: truncated header (13 of 14 bytes)'],
  ['truncated_VLAN_header', [[1, bytes(new Uint8Array(12), [0x81, 0x00, 0x00])]], 'vlan: truncated tag (1 of 4 bytes)'],
  ['truncated_Linux_SLL_header', [[113, new Uint8Array(15)]], 'linux sll: truncated header (15 of 16 bytes)'],
  ['truncated_Linux_SLL2_header', [[276, new Uint8Array(19)]], 'linux sll2: truncated header (19 of 20 bytes)'],
  ['null_analyzer_failed', [[0, new Uint8Array(3)]], 'null: truncated header (3 of 4 bytes)'],
  ['truncated_loop_header', [[108, new Uint8Array(2)]], 'loop: truncated header (2 of 4 bytes)'],
  ['raw_ip_empty_frame', [[RAW, new Uint8Array(0)]], 'raw ip: empty frame'],
  ['unknown_ip_version', [[RAW, bytes([0x50], new Uint8Array(39))]], 'raw ip: IP version 5'],
  ['linktype_empty_frame', [[229, new Uint8Array(0)]], 'linktype IPV6: empty frame'],
  ['linktype_ip_version_mismatch', [[228, V6_UDP]], 'linktype IPV4 but IP version 6'],
  ['truncated_IP', [[RAW, V4_TCP.subarray(0, 12)]], 'ipv4: truncated header (12 of 20 bytes)'],
  ['ipv4_bad_version', [[1, eth(0x0800, V6_UDP)]], 'ipv4: version 6'],
  ['IPv4_min_header_size', [[RAW, ipv4({ ihl: 3 }, BODY)]], 'ipv4: header length 12 < 20'],
  ['invalid_IP_header_size', [[RAW, ipv4({ totalLen: 19 }, BODY)]], 'ipv4: total length 19 < header length 20'],
  [
    'ipv4_excessively_large_fragment',
    [[RAW, ipv4({ fragOffset: 65528 }, new Uint8Array(16))]],
    'ipv4: fragment ends beyond 65535 bytes',
  ],
  ['truncated_IPv6', [[RAW, V6_UDP.subarray(0, 39)]], 'ipv6: truncated header (39 of 40 bytes)'],
  ['ipv6_bad_version', [[1, eth(0x86dd, V4_TCP)]], 'ipv6: version 4'],
  ['ipv6_hop_by_hop_not_first', [[RAW, ipv6({ nh: 60 }, bytes(ext6(0), ext6(6), BODY))]], 'ipv6: hop-by-hop header not first'],
  [
    'ipv6_ext_header_beyond_payload',
    [[RAW, ipv6({ nh: 43, plen: 8 }, bytes(ext6(6, 1), BODY))]],
    'ipv6: extension header 43 beyond payload length',
  ],
  ['ipv6_ext_header_truncated', [[RAW, ipv6({ nh: 60 }, bytes(ext6(6, 3), BODY)).subarray(0, 50)]], 'ipv6: extension header 60 truncated'],
  [
    'ipv6_frag_header_beyond_payload',
    [[RAW, ipv6({ nh: 44, plen: 4 }, bytes(frag6(17, 8, false, 1), new Uint8Array(8)))]],
    'ipv6: fragment header beyond payload length',
  ],
  [
    'ipv6_frag_header_truncated',
    [[RAW, ipv6({ nh: 44 }, bytes(frag6(17, 8, false, 1), new Uint8Array(8))).subarray(0, 44)]],
    'ipv6: fragment header truncated',
  ],
  [
    'ipv6_fragment_not_multiple_of_8',
    [[RAW, ipv6({ nh: 44 }, bytes(frag6(17, 0, true, 1), new Uint8Array(12)))]],
    'ipv6: fragment length not a multiple of 8',
  ],
  [
    'ipv6_excessively_large_fragment',
    [[RAW, ipv6({ nh: 44 }, bytes(frag6(17, 65528, false, 1), new Uint8Array(16)))]],
    'ipv6: fragment ends beyond 65535 bytes',
  ],
  [
    // Two fragments whose datagram starts with another (non-atomic) fragment header.
    'ipv6_nested_fragment',
    [
      [RAW, ipv6({ nh: 44 }, bytes(frag6(44, 0, true, 7), frag6(17, 8, true, 8)))],
      [RAW, ipv6({ nh: 44 }, bytes(frag6(44, 8, false, 7), new Uint8Array(8)))],
    ],
    'ipv6: fragment header inside reassembled datagram',
  ],
  ['tcp_truncated_header', [[RAW, ipv4({}, BODY.subarray(0, 12))]], 'tcp: segment length 12 < 20'],
  ['bad_TCP_header_len', [[RAW, ipv4({}, tcp({ doff: 4 }))]], 'tcp: header length 16 < 20'],
  ['tcp_header_beyond_segment', [[RAW, ipv4({}, tcp({ doff: 15 }))]], 'tcp: header length 60 > segment length'],
  ['udp_truncated_header', [[RAW, ipv4({ proto: 17 }, new Uint8Array(6))]], 'udp: ip payload 6 < 8'],
  ['udp_bad_length', [[RAW, ipv4({ proto: 17 }, udp({ len: 7 }, ascii('abcd')))]], 'udp: length 7 < 8'],
  ['UDP_datagram_length_mismatch', [[RAW, ipv4({ proto: 17 }, udp({ len: 13 }, ascii('abcd')))]], 'udp: length exceeds ip payload'],
  // Encapsulations.
  ['truncated_link_header', [[1, eth(0x8847, new Uint8Array(3))]], 'mpls: truncated label stack (3 of 4 bytes)'],
  ['truncated_pppoe_header', [[1, eth(0x8864, new Uint8Array(7))]], 'pppoe: truncated header (7 of 8 bytes)'],
  ['pbb_truncated_header', [[1, eth(0x88e7, new Uint8Array(17))]], 'pbb: truncated I-tag and customer header (17 of 18 bytes)'],
  ['vntag_truncated_header', [[1, eth(0x8926, new Uint8Array(5))]], 'vntag: truncated tag (5 of 6 bytes)'],
  ['fabricpath_truncated_header', [[1, eth(0x8903, new Uint8Array(16))]], 'fabricpath: truncated header (30 of 31 bytes)'],
  ['truncated_ppp_header', [[9, new Uint8Array([0xff, 0x03, 0x00])]], 'ppp: truncated header (3 of 4 bytes)'],
  ['truncated_802_11_header', [[105, wifi(0x0800, V4_TCP).subarray(0, 24)]], '802.11: nothing after the 24-byte header (24 bytes)'],
  ['truncated_802_11_llc_header', [[105, wifi(0x0800, V4_TCP).subarray(0, 28)]], '802.11: truncated LLC/SNAP header (4 of 8 bytes)'],
  ['truncated_radiotap_header', [[127, new Uint8Array([0, 0, 64, 0, 0, 0])]], 'radiotap: header length 64, frame 6 bytes'],
  ['exceeded_tunnel_max_depth', [[RAW, ipv4({ proto: 4 }, ipv4({ proto: 4 }, ipv4({ proto: 4 }, V4_TCP)))]], 'tunnel: IP protocol 4 inside 2 tunnels'],
  ['truncated_GRE', [[RAW, ipv4({ proto: 47 }, new Uint8Array(3))]], 'gre: truncated header (3 of 4 bytes)'],
  ['unknown_gre_version', [[RAW, ipv4({ proto: 47 }, gre({ version: 2, protocol: 0x0800 }, V4_TCP))]], 'gre: version 2'],
  ['egre_protocol_type', [[RAW, ipv4({ proto: 47 }, gre({ version: 1, protocol: 0x0800 }, V4_TCP))]], 'gre: protocol type 0x0800'],
  ['gre_routing', [[RAW, ipv4({ proto: 47 }, gre({ flags: 0x4000, protocol: 0x0800 }, V4_TCP))]], 'gre: routing present'],
  ['unknown_gre_flags', [[RAW, ipv4({ proto: 47 }, gre({ flags: 0x0008, protocol: 0x0800 }, V4_TCP))]], 'gre: flags 0x0008'],
  [
    'non_ip_packet_in_encap',
    [[RAW, ipv4({ proto: 47 }, gre({ version: 1, flags: 0x2000, protocol: 0x880b }, bytes([0xff, 0x03, 0xc0, 0x21], new Uint8Array(8))))]],
    'gre: PPP protocol 0xc021',
  ],
];

/**
 * Weirds of a UDP tunnel's header: the datagram is still a packet (a flow of its own, as Zeek logs
 * it); only the packet inside it is lost. [code, UDP payload to the tunnel's port, report text].
 */
const UDP_CASES: [WeirdCode, number, Uint8Array, string][] = [
  ['vxlan_truncated_header', 4789, new Uint8Array(4), 'vxlan: truncated header (4 of 8 bytes)'],
  ['gtp_truncated_header', 2152, new Uint8Array(6), 'gtp: truncated header (6 of 8 bytes)'],
  ['gtp_payload_not_ip', 2152, gtp(bytes([0x50], new Uint8Array(30))), 'gtp: IP version 5'],
  ['ayiya_truncated_header', 5072, bytes([0x41, 0x52, 0x11, 41], new Uint8Array(6)), 'ayiya: truncated header (10 of 44 bytes)'],
  ['ayiya_empty_packet', 5072, ayiya(41, new Uint8Array(0)), 'ayiya: forward message without a packet'],
];

describe('weirds', () => {
  it.each(CASES)('%s', (code, frames, text) => {
    const decoder = new Decoder();
    const outcomes = frames.map(([lt, data]) => decoder.decode(frame(lt, data)));
    const last = outcomes[outcomes.length - 1];
    expect(last?.kind === 'malformed' && last.code).toBe(code);
    expect(last?.kind === 'malformed' && weirdText(last.code, last.detail)).toBe(text);
    expect(decoder.stats.byKind.malformed).toBe(1);
    expect([...decoder.stats.malformedCodes]).toEqual([[code, 1]]);
    expect([...decoder.stats.malformedReasons]).toEqual([[text, 1]]);
  });

  it.each(UDP_CASES)('%s (the outer datagram is still a packet)', (code, port, payload, text) => {
    const decoder = new Decoder();
    const outcome = decoder.decode(frame(RAW, ipv4({ proto: 17 }, udp({ sport: 40000, dport: port }, payload))));
    expect(outcome.kind).toBe('packet');
    expect(decoder.hasInner).toBe(false);
    expect(decoder.stats.byKind.malformed).toBe(0);
    expect([...decoder.stats.malformedCodes]).toEqual([[code, 1]]);
    expect([...decoder.stats.malformedReasons]).toEqual([[text, 1]]);
  });

  it('every code has a case above, except the safety net for decoder bugs', () => {
    const covered = new Set<WeirdCode>([...CASES.map(([code]) => code), ...UDP_CASES.map(([code]) => code)]);
    expect(WEIRD_CODES.filter((c) => !covered.has(c))).toEqual(['internal_decoder_error']);
    expect(weirdText('internal_decoder_error', 'decoder error')).toBe('internal: decoder error');
  });

  it('counts every malformed frame by code, while report texts stop at 64 distinct ones', () => {
    const decoder = new Decoder();
    // 14 + 20 + 40 truncation lengths: 74 distinct texts over three codes.
    for (let n = 0; n < 14; n++) decoder.decode(frame(1, new Uint8Array(n)));
    for (let n = 0; n < 20; n++) decoder.decode(frame(1, eth(0x0800, V4_TCP.subarray(0, n))));
    for (let n = 0; n < 40; n++) decoder.decode(frame(1, eth(0x86dd, V6_UDP.subarray(0, n))));
    expect([...decoder.stats.malformedCodes]).toEqual([
      ['truncated_ethernet_frame', 14],
      ['truncated_IP', 20],
      ['truncated_IPv6', 40],
    ]);
    expect(decoder.stats.malformedReasons.size).toBe(64);
    expect(decoder.stats.malformedOverflow).toBe(10);
  });
});
