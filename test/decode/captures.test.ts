/**
 * Decoding the public captures (the public corpus, test/helpers/corpus.ts). Expected values were
 * checked against tshark 4.0 / tcpdump 4.99 on the same files.
 */
import { expect, it } from 'vitest';
import type { Packet } from '../../src/decode/packet.js';
import { Decoder } from '../../src/decode/decoder.js';
import { decodeFile, endpoints, packetsOf, readFrames } from '../helpers/captures.js';
import { corpusDescribe } from '../helpers/corpus.js';
import { weirdOf } from '../helpers/frames.js';

const ascii = (b: Uint8Array): string => String.fromCharCode(...b);

function only<T>(xs: T[]): T {
  expect(xs.length).toBe(1);
  return xs[0]!;
}

function at(outcomes: ReturnType<typeof decodeFile>['outcomes'], frameNo: number): Packet {
  const o = outcomes[frameNo - 1];
  if (o?.kind !== 'packet') throw new Error(`frame ${frameNo}: expected a packet, got ${JSON.stringify(o)}`);
  return o.packet;
}

corpusDescribe('Ethernet with VLAN tags', () => {
  const HTTP_FLOW = [
    '141.142.228.5:59856 > 192.150.187.43:80',
    '192.150.187.43:80 > 141.142.228.5:59856',
  ];

  it.each(['zeek_http_vlan.pcap', 'zeek_http_qinq.pcap'])('%s yields the HTTP TCP packets', (name) => {
    const { outcomes, decoder } = decodeFile(name);
    const pkts = packetsOf(outcomes);
    expect(pkts.length).toBe(14);
    expect(decoder.stats.byKind).toEqual({ packet: 14, fragment: 0, skip: 0, malformed: 0 });
    for (const p of pkts) {
      expect(p.ipVersion).toBe(4);
      expect(p.proto).toBe(6);
      expect(HTTP_FLOW).toContain(endpoints(p));
    }
    const syn = pkts[0]!;
    expect(endpoints(syn)).toBe(HTTP_FLOW[0]);
    expect(syn.tcp).toMatchObject({ seq: 4263588410, flags: 0x02, headerLen: 44 });
    const synAck = pkts[1]!;
    expect(synAck.tcp).toMatchObject({ seq: 2779762238, ack: 4263588411, flags: 0x12 });
    const get = pkts[3]!;
    expect(get.payloadLen).toBe(136);
    expect(ascii(get.payload.subarray(0, 42))).toBe('GET /download/CHANGES.bro-aux.txt HTTP/1.1');
  });
});

corpusDescribe('Linux cooked captures', () => {
  it('SLL: ndpi_log4j_sll.pcap', () => {
    const { outcomes, decoder } = decodeFile('ndpi_log4j_sll.pcap');
    expect(outcomes.length).toBe(426);
    expect(decoder.stats.byKind).toEqual({ packet: 422, fragment: 0, skip: 4, malformed: 0 });
    expect([...decoder.stats.skipReasons]).toEqual([['ethertype 0x0806 (ARP)', 4]]);
    const post = at(outcomes, 4);
    expect(endpoints(post)).toBe('172.16.238.1:1984 > 172.16.238.10:8080');
    expect(post).toMatchObject({ payloadLen: 646, ipLen: 698, truncated: false });
    expect(post.tcp?.seq).toBe(2039906994);
    expect(ascii(post.payload.subarray(0, 21))).toBe('POST /log4shell/login');
  });

  it('SLL with nanosecond timestamps: tcpdump_tcp_handshake_nano.pcap', () => {
    const { outcomes } = decodeFile('tcpdump_tcp_handshake_nano.pcap');
    const [syn, synAck, ack] = packetsOf(outcomes);
    expect(endpoints(syn!)).toBe('131.155.215.69:46656 > 137.116.81.94:80');
    expect(syn!.tcp).toMatchObject({ seq: 797190859, ack: 0, flags: 0x02, window: 27200, headerLen: 40 });
    expect(syn!.ts).toBeCloseTo(1418145369.924505488, 6);
    expect(endpoints(synAck!)).toBe('137.116.81.94:80 > 131.155.215.69:46656');
    expect(synAck!.tcp).toMatchObject({ seq: 3078856592, ack: 797190860, flags: 0x12, window: 8192 });
    expect(ack!.tcp).toMatchObject({ seq: 797190860, ack: 3078856593, flags: 0x10, headerLen: 32 });
  });

  it('SLL2: zeek_linux_sll2.pcap (ICMP, ICMPv6, ARP, RARP)', () => {
    const { outcomes } = decodeFile('zeek_linux_sll2.pcap');
    expect(outcomes.map((o) => o.kind)).toEqual(['packet', 'packet', 'packet', 'packet', 'skip', 'skip']);
    const icmp = at(outcomes, 1);
    // The payload is what follows the 8-byte ICMP header (Zeek's orig_bytes count it).
    expect(icmp).toMatchObject({ ipVersion: 4, src: '192.0.2.1', dst: '192.0.2.1', proto: 1, icmp: { type: 8, code: 0 }, payloadLen: 56, ipLen: 84 });
    expect(icmp.payload.length).toBe(56);
    const icmp6 = at(outcomes, 3);
    expect(icmp6).toMatchObject({ ipVersion: 6, src: 'fe80::8c36:6ff:fe44:acaf', dst: 'fe80::8c36:6ff:fe44:acaf', proto: 58, payloadLen: 56 });
    expect(icmp6.icmp).toEqual({ type: 128, code: 0 }); // echo request
    expect(outcomes[4]).toEqual({ kind: 'skip', reason: 'ethertype 0x0806 (ARP)' });
    expect(outcomes[5]).toEqual({ kind: 'skip', reason: 'ethertype 0x8035 (RARP)' });
  });

  it('SLL2: zeek_tls_sll2_openjdk.pcap', () => {
    const pkts = packetsOf(decodeFile('zeek_tls_sll2_openjdk.pcap').outcomes);
    expect(pkts.length).toBe(6);
    expect(pkts.map(endpoints)).toEqual([
      '192.168.64.6:55058 > 192.0.78.150:443',
      '192.0.78.150:443 > 192.168.64.6:55058',
      '192.168.64.6:55058 > 192.0.78.150:443',
      '192.168.64.6:55058 > 192.0.78.150:443',
      '192.0.78.150:443 > 192.168.64.6:55058',
      '192.0.78.150:443 > 192.168.64.6:55058',
    ]);
    expect(pkts.map((p) => p.payloadLen)).toEqual([0, 0, 0, 457, 0, 2920]);
    expect(pkts[3]!.payload[0]).toBe(0x16); // TLS handshake record
  });
});

corpusDescribe('raw IP link types', () => {
  const V4 = '192.168.1.100:12345 > 9.9.9.9:53';
  const V6 = '[2001:db8::1]:12345 > [2620:fe::9]:53';

  it.each([
    ['tcpdump_LINKTYPE_RAW_ipv4.pcap', 101, V4],
    ['tcpdump_LINKTYPE_RAW_ipv6.pcap', 101, V6],
    ['tcpdump_LINKTYPE_IPV4.pcap', 228, V4],
    ['tcpdump_LINKTYPE_IPV6.pcap', 229, V6],
  ])('%s (link type %i)', (name, lt, want) => {
    const frames = readFrames(name);
    expect(frames[0]!.linkType).toBe(lt);
    const p = only(packetsOf(decodeFile(name).outcomes));
    expect(endpoints(p)).toBe(want);
    expect(p.proto).toBe(17);
    expect(p.udp?.length).toBe(37);
    expect(p.payloadLen).toBe(29);
    expect(p.payload.length).toBe(29);
  });

  it('an IPv6 packet in a LINKTYPE_IPV4 file is malformed', () => {
    expect(decodeFile('tcpdump_LINKTYPE_IPV4_invalid.pcap').outcomes.map(weirdOf)).toEqual(['linktype_ip_version_mismatch']);
  });

  it('sv_tls_alpn_rawip.pcap decodes every frame', () => {
    const { decoder, outcomes } = decodeFile('sv_tls_alpn_rawip.pcap');
    expect(decoder.stats.byKind.packet).toBe(28);
    expect(packetsOf(outcomes).every((p) => p.proto === 6)).toBe(true);
  });
});

corpusDescribe('NULL link type with IPv6', () => {
  it('sv_http_ipv6_null.pcap: HTTP over ::1', () => {
    const pkts = packetsOf(decodeFile('sv_http_ipv6_null.pcap').outcomes);
    expect(pkts.length).toBe(14);
    for (const p of pkts) expect(['[::1]:55717 > [::1]:8000', '[::1]:8000 > [::1]:55717']).toContain(endpoints(p));
    expect(pkts[4]!.payloadLen).toBe(74);
    expect(ascii(pkts[4]!.payload.subarray(0, 14))).toBe('GET / HTTP/1.1');
  });

  it('packt_grpc_unary.pcapng: gRPC on [::1]:50051 among IPv4 loopback traffic', () => {
    const { outcomes, decoder } = decodeFile('packt_grpc_unary.pcapng');
    expect(decoder.stats.byKind).toEqual({ packet: 4318, fragment: 0, skip: 0, malformed: 0 });
    const pkts = packetsOf(outcomes);
    const grpc = pkts.filter((p) => p.tcp?.srcPort === 50051 || p.tcp?.dstPort === 50051);
    expect(grpc.length).toBe(30);
    expect(grpc.every((p) => p.ipVersion === 6 && p.src === '::1' && p.dst === '::1')).toBe(true);
    expect(pkts.filter((p) => p.src === '127.0.0.1').length).toBe(4277);
    const syn = at(outcomes, 25);
    expect(endpoints(syn)).toBe('[::1]:65094 > [::1]:50051');
    expect(syn.tcp?.flags).toBe(0x02);
    const preface = at(outcomes, 31);
    expect(preface.payloadLen).toBe(24);
    expect(ascii(preface.payload)).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  });
});

corpusDescribe('IPv6 extension headers and atomic fragments', () => {
  it('zeek_ipv6_atomic_frag_http.pcap', () => {
    const { outcomes, decoder } = decodeFile('zeek_ipv6_atomic_frag_http.pcap');
    expect(decoder.stats.byKind).toEqual({ packet: 38, fragment: 0, skip: 0, malformed: 0 });
    expect(decoder.stats.fragments.fragments).toBe(0);
    expect(at(outcomes, 1).proto).toBe(58);
    // Frame 13: SYN behind an atomic fragment header.
    const syn = at(outcomes, 13);
    expect(endpoints(syn)).toBe('[2001:db8:1::2]:59694 > [2001:db8:1::1]:80');
    expect(syn).toMatchObject({ reassembled: false, payloadLen: 0 });
    expect(syn.tcp?.flags).toBe(0x02);
    // The 15-byte request behind destination options (8), atomic fragment (16), hop-by-hop (26), routing (36).
    for (const [n, port] of [
      [8, 36951],
      [16, 59694],
      [26, 27393],
      [36, 45805],
    ] as const) {
      const p = at(outcomes, n);
      expect(endpoints(p)).toBe(`[2001:db8:1::2]:${port} > [2001:db8:1::1]:80`);
      expect(p.payloadLen).toBe(15);
      expect(p.payload.length).toBe(15);
    }
  });
});

corpusDescribe('IP fragment reassembly', () => {
  it('zeek_ipv4_frag_ntp.pcap: overlapping fragments, the end set by the last fragment', () => {
    const { outcomes, decoder } = decodeFile('zeek_ipv4_frag_ntp.pcap');
    expect(outcomes.map((o) => o.kind)).toEqual(['fragment', 'fragment', 'packet']);
    const p = at(outcomes, 3);
    expect(endpoints(p)).toBe('164.1.123.163:123 > 164.1.123.61:137');
    expect(p).toMatchObject({ reassembled: true, truncated: false, ipLen: 184, payloadLen: 10 });
    expect(p.udp?.length).toBe(18); // from the first fragment: first data wins (tshark agrees)
    expect(decoder.stats.fragments).toMatchObject({ fragments: 3, reassembled: 1, overlaps: 1, inconsistent: 1 });
  });

  it('zeek_ipv4_frag_tcp.pcap: TCP in overlapping fragments, first data wins', () => {
    const { outcomes, decoder } = decodeFile('zeek_ipv4_frag_tcp.pcap');
    expect(outcomes.map((o) => o.kind)).toEqual(['packet', 'fragment', 'fragment', 'fragment', 'packet', 'packet']);
    const p = at(outcomes, 5);
    expect(endpoints(p)).toBe('128.32.46.142:7790 > 10.0.0.1:80');
    expect(p).toMatchObject({ reassembled: true, payloadLen: 69, ipLen: 109 });
    // Fragment 3 ([48,72)) came before fragment 5's overlapping copy, so its bytes are kept:
    // the "first" policy rebuilds the URL a Windows host would have seen (tshark keeps the last copy).
    expect(ascii(p.payload)).toBe('GET /msadc/..%2f../..%2f../..%2f../winnt/system32/cmd.exe?/c+dir+c:\\\n');
    expect(decoder.stats.fragments).toMatchObject({ fragments: 4, reassembled: 1, overlaps: 1 });
    expect(at(outcomes, 6).reassembled).toBe(false);
  });

  it('ndpi_dns_fragmented.pcap: IPv4 and IPv6 DNS responses reassemble', () => {
    const { outcomes, decoder } = decodeFile('ndpi_dns_fragmented.pcap');
    const re = packetsOf(outcomes).filter((p) => p.reassembled);
    expect(re.map((p) => [p.ipVersion, p.udp?.srcPort, p.udp?.length])).toEqual([
      [4, 53, 1710],
      [6, 53, 1509],
      [6, 53, 1498],
      [4, 53, 1498],
      [4, 53, 1710],
      [6, 53, 1738],
      [4, 53, 1738],
    ]);
    expect(endpoints(re[1]!)).toBe('[2001:470:765b::a25:53]:53 > [2a00:1450:4013:c03::10a]:46433');
    expect(re.every((p) => !p.truncated && p.payloadLen === p.udp!.length - 8 && p.payload.length === p.payloadLen)).toBe(true);
    expect(decoder.stats.fragments).toMatchObject({ fragments: 14, reassembled: 7, evicted: 0, overlaps: 0 });
    expect(decoder.reassembler.pending).toBe(0);
  });

  it('ndpi_ip_fragmented_garbage.pcap with default bounds: 4 datagrams of 313 fragments', () => {
    const { outcomes, decoder } = decodeFile('ndpi_ip_fragmented_garbage.pcap');
    expect(decoder.stats.byKind).toEqual({ packet: 2, fragment: 1248, skip: 0, malformed: 2 });
    expect(decoder.stats.fragments).toMatchObject({ fragments: 1252, reassembled: 4, evicted: 0, droppedOverCap: 0 });
    expect([...decoder.stats.malformedCodes]).toEqual([['bad_TCP_header_len', 2]]);
    // The report's texts (summary.decode.weirds) keep each frame's detail.
    expect([...decoder.stats.malformedReasons].sort()).toEqual([
      ['tcp: header length 16 < 20', 1],
      ['tcp: header length 8 < 20', 1],
    ]);
    expect(packetsOf(outcomes).map((p) => [p.ipLen, p.payloadLen, p.tcp?.srcPort])).toEqual([
      [5020, 4976, 18730],
      [5020, 4972, 9253],
    ]);
  });

  it('ndpi_ip_fragmented_garbage.pcap with a tiny maxBytes stays under the cap and counts evictions', () => {
    const maxBytes = 4096;
    const decoder = new Decoder({ fragments: { maxBytes } });
    let peak = 0;
    for (const f of readFrames('ndpi_ip_fragmented_garbage.pcap')) {
      decoder.decode(f);
      peak = Math.max(peak, decoder.reassembler.bufferedBytes);
    }
    expect(peak).toBeLessThanOrEqual(maxBytes);
    expect(peak).toBeGreaterThan(maxBytes - 100);
    const s = decoder.stats.fragments;
    expect(s.reassembled).toBe(0);
    // Each 16-byte fragment costs 16 + 64: 51 fit, the 52nd overflows and drops its datagram.
    expect(s.droppedOverCap).toBe(24);
    expect(s.evicted).toBe(24);
    expect(decoder.stats.skipReasons.get('ip fragment dropped: reassembly memory cap')).toBe(24);
  });

  it('ndpi_ip_fragmented_garbage.pcap with a short timeout: datagrams expire on packet time', () => {
    const { decoder } = decodeFile('ndpi_ip_fragmented_garbage.pcap', { fragments: { timeoutSec: 0.001 } });
    expect(decoder.stats.fragments.reassembled).toBe(0);
    // Each 313-fragment datagram spans 3.9 ms: it restarts every millisecond of packet time.
    expect(decoder.stats.fragments.timedOut).toBe(15);
    expect(decoder.reassembler.pending).toBe(1);
  });

  it('ndpi_badpackets.pcap: truncated first fragments that never complete', () => {
    const { decoder } = decodeFile('ndpi_badpackets.pcap');
    expect(decoder.stats.byKind).toEqual({ packet: 0, fragment: 93, skip: 0, malformed: 0 });
    expect(decoder.stats.fragments).toMatchObject({ fragments: 93, reassembled: 0, timedOut: 87 });
    expect(decoder.reassembler.pending).toBe(6);
  });
});

corpusDescribe('malformed and truncated captures (no throw, specific weirds)', () => {
  it.each([
    ['tcpdump_ipv4_invalid_hdr_length.pcap', 'IPv4_min_header_size', 'ipv4: header length 16 < 20'],
    ['tcpdump_ipv4_invalid_length.pcap', 'truncated_IP', 'ipv4: truncated header (19 of 20 bytes)'],
    ['tcpdump_ipv6_invalid_length.pcap', 'truncated_IPv6', 'ipv6: truncated header (39 of 40 bytes)'],
    ['zeek_trunc_ip4.pcap', 'truncated_IP', 'ipv4: truncated header (6 of 20 bytes)'],
    ['zeek_trunc_ip6.pcap', 'truncated_IPv6', 'ipv6: truncated header (34 of 40 bytes)'],
    ['zeek_trunc_ipv4_broken_hdr.pcap', 'invalid_IP_header_size', 'ipv4: total length 20 < header length 60'],
  ])('%s -> %s', (name, code, reportText) => {
    const { outcomes, decoder } = decodeFile(name);
    expect(outcomes.map(weirdOf)).toEqual([code]);
    expect([...decoder.stats.malformedCodes]).toEqual([[code, 1]]);
    expect([...decoder.stats.malformedReasons]).toEqual([[reportText, 1]]);
  });

  it('zeek_trunc_hdr_snaplen1.pcap: frame shorter than an Ethernet header', () => {
    // The record says 8 captured bytes in a file whose snaplen is 1; readCaptureFile keeps all 8 (caplen >
    // snaplen is tolerated), a reader that clamps to the snaplen would report 1.
    const o = only(decodeFile('zeek_trunc_hdr_snaplen1.pcap').outcomes);
    expect(weirdOf(o)).toBe('truncated_ethernet_frame');
  });

  it('tcpdump_tcp_header_heapoverflow.pcap: TCP header cut off -> truncated packet without tcp', () => {
    const p = only(packetsOf(decodeFile('tcpdump_tcp_header_heapoverflow.pcap').outcomes));
    expect(p).toMatchObject({ src: '48.48.48.48', dst: '48.48.48.48', proto: 6, truncated: true, ipLen: 12336, payloadLen: 12316 });
    expect(p.tcp).toBeUndefined();
    expect(p.payload.length).toBe(12);
  });

  it('tcpdump_udp_length_heapoverflow.pcap: UDP header cut off -> truncated packet without udp', () => {
    const p = only(packetsOf(decodeFile('tcpdump_udp_length_heapoverflow.pcap').outcomes));
    expect(p).toMatchObject({ proto: 17, truncated: true, ipLen: 12336 });
    expect(p.udp).toBeUndefined();
    expect(p.payload.length).toBe(4);
  });

  it('zeek_trunc_tcp_hdr_snaplen68.pcap: snaplen cuts options and payloads', () => {
    const { outcomes, decoder } = decodeFile('zeek_trunc_tcp_hdr_snaplen68.pcap');
    const pkts = packetsOf(outcomes);
    expect(pkts.length).toBe(24);
    const truncatedFrames = pkts.flatMap((p, i) => (p.truncated ? [i + 1] : []));
    expect(truncatedFrames).toEqual([1, 4, 6, 8, 9, 11, 12, 14, 15, 17, 19, 21]);
    expect(decoder.stats.truncated).toBe(12);
    const syn = pkts[0]!;
    expect(endpoints(syn)).toBe('201.186.157.67:60827 > 128.3.26.249:25');
    expect(syn.tcp).toMatchObject({ headerLen: 40, seq: 1041724894, flags: 0xc2 });
    expect(syn.payload.length).toBe(0);
    const data = pkts[3]!;
    expect(data).toMatchObject({ payloadLen: 84, truncated: true });
    expect(data.payload.length).toBe(0);
  });

  it('tcpdump_unsupported_linktype_160.pcap: skipped with the link type', () => {
    expect(decodeFile('tcpdump_unsupported_linktype_160.pcap').outcomes).toEqual([
      { kind: 'skip', reason: 'unsupported link type 160' },
    ]);
  });

  it('sv_fuzz_bad_caplen.pcap: the readable record is a broken TCP header', () => {
    expect(weirdOf(decodeFile('sv_fuzz_bad_caplen.pcap').outcomes[0])).toBe('bad_TCP_header_len');
  });
});
