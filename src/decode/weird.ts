/**
 * Why a frame could not be decoded (a "weird", as Zeek calls them): a stable code that tests and
 * counters key on, plus a detail with the numbers of this frame.
 *
 * Codes are Zeek's weird names where Zeek reports the same condition at the same layer (for
 * example truncated_IP, IPv4_min_header_size, bad_TCP_header_len, UDP_datagram_length_mismatch,
 * truncated_ethernet_frame); otherwise a name in the same style that starts with the layer.
 * Zeek uses one name for several layers in a few places (truncated_header for TCP and UDP,
 * excessively_large_fragment for IPv4 and IPv6): here each code belongs to one layer, so that the
 * report text below follows from the code.
 *
 * Report text: the JSON report's summary.decode.weirds is keyed by weirdText(code, detail), the
 * layer prefix of the code followed by the detail ("tcp: header length 16 < 20"). Those keys are
 * part of the report format, so a prefix never changes.
 */

/** Each code's prefix in the report text (layer name and separator). */
const PREFIX = {
  // Link layers.
  truncated_ethernet_frame: 'ethernet: ',
  truncated_VLAN_header: 'vlan: ',
  /** The MPLS label stack runs past the frame (Zeek's MPLS analyzer: truncated_link_header). */
  truncated_link_header: 'mpls: ',
  truncated_pppoe_header: 'pppoe: ',
  /** 802.1ah I-tag and customer header cut short. */
  pbb_truncated_header: 'pbb: ',
  /** Cisco VN-tag cut short. */
  vntag_truncated_header: 'vntag: ',
  /** Cisco FabricPath header and the Ethernet header after it cut short (Zeek: truncated_link_header). */
  fabricpath_truncated_header: 'fabricpath: ',
  /** LINKTYPE_PPP frame shorter than its address, control and protocol fields. */
  truncated_ppp_header: 'ppp: ',
  truncated_802_11_header: '802.11: ',
  truncated_802_11_llc_header: '802.11: ',
  truncated_radiotap_header: 'radiotap: ',
  truncated_Linux_SLL_header: 'linux sll: ',
  truncated_Linux_SLL2_header: 'linux sll2: ',
  /** LINKTYPE_NULL header cut short (Zeek's Null analyzer reports it under this name). */
  null_analyzer_failed: 'null: ',
  truncated_loop_header: 'loop: ',
  raw_ip_empty_frame: 'raw ip: ',
  /** Raw IP link type: the version nibble is neither 4 nor 6. */
  unknown_ip_version: 'raw ip: ',
  /** LINKTYPE_IPV4 / LINKTYPE_IPV6 with no byte at all; the detail names the link type. */
  linktype_empty_frame: 'linktype ',
  /** LINKTYPE_IPV4 / LINKTYPE_IPV6 holding the other IP version; the detail names both. */
  linktype_ip_version_mismatch: 'linktype ',
  // IPv4.
  truncated_IP: 'ipv4: ',
  /** The link layer said IPv4 but the version nibble disagrees. */
  ipv4_bad_version: 'ipv4: ',
  IPv4_min_header_size: 'ipv4: ',
  /** Total length shorter than the header length. */
  invalid_IP_header_size: 'ipv4: ',
  /** Fragment offset plus length past 65535 bytes (Zeek: excessively_large_fragment). */
  ipv4_excessively_large_fragment: 'ipv4: ',
  // IPv6.
  truncated_IPv6: 'ipv6: ',
  ipv6_bad_version: 'ipv6: ',
  ipv6_hop_by_hop_not_first: 'ipv6: ',
  ipv6_ext_header_beyond_payload: 'ipv6: ',
  ipv6_ext_header_truncated: 'ipv6: ',
  ipv6_frag_header_beyond_payload: 'ipv6: ',
  ipv6_frag_header_truncated: 'ipv6: ',
  /** A fragment other than the last whose length is not a multiple of 8 (RFC 8200 section 4.5). */
  ipv6_fragment_not_multiple_of_8: 'ipv6: ',
  /** Fragment offset plus length past 65535 bytes (Zeek: excessively_large_fragment). */
  ipv6_excessively_large_fragment: 'ipv6: ',
  /** A reassembled datagram that carries a fragment header again. */
  ipv6_nested_fragment: 'ipv6: ',
  // TCP.
  /** Less IP payload than the fixed 20-byte header (Zeek: truncated_header). */
  tcp_truncated_header: 'tcp: ',
  bad_TCP_header_len: 'tcp: ',
  /** Data offset beyond the segment (Zeek: truncated_header). */
  tcp_header_beyond_segment: 'tcp: ',
  // UDP.
  /** Less IP payload than the 8-byte header (Zeek: truncated_header). */
  udp_truncated_header: 'udp: ',
  /** Length field below the header's own 8 bytes. */
  udp_bad_length: 'udp: ',
  /** Length field beyond the IP payload. */
  UDP_datagram_length_mismatch: 'udp: ',
  // Tunnels (GRE, IP in IP, and the UDP tunnels VXLAN, GTP-U, Teredo, AYIYA).
  /** A tunnel inside more tunnels than Zeek's Tunnel::max_depth (2) allows: not decoded further. */
  exceeded_tunnel_max_depth: 'tunnel: ',
  truncated_GRE: 'gre: ',
  unknown_gre_version: 'gre: ',
  /** Enhanced GRE (version 1) carrying something other than PPP (0x880b). */
  egre_protocol_type: 'gre: ',
  /** The deprecated routing field (RFC 1701), which Zeek does not decode either. */
  gre_routing: 'gre: ',
  unknown_gre_flags: 'gre: ',
  /** PPTP's PPP carrying something other than IPv4 or IPv6. */
  non_ip_packet_in_encap: 'gre: ',
  /** VXLAN header (8 bytes) cut short. */
  vxlan_truncated_header: 'vxlan: ',
  /** GTPv1 header, its optional fields or extension headers cut short. */
  gtp_truncated_header: 'gtp: ',
  /** A GTP-U T-PDU whose payload is neither IPv4 nor IPv6. */
  gtp_payload_not_ip: 'gtp: ',
  /** An AYIYA forward message with no packet after its header. */
  ayiya_empty_packet: 'ayiya: ',
  /** AYIYA header (with identity and signature) cut short. */
  ayiya_truncated_header: 'ayiya: ',
  // The decoder itself.
  /** A decoder bug caught by its safety net (DecoderStats.internalErrors); should never be seen. */
  internal_decoder_error: 'internal: ',
} as const;

export type WeirdCode = keyof typeof PREFIX;

/** Every code, in declaration order. */
export const WEIRD_CODES: readonly WeirdCode[] = Object.freeze(Object.keys(PREFIX) as WeirdCode[]);

export interface Weird {
  readonly code: WeirdCode;
  /** This frame's numbers, in the words the report shows after the layer prefix. */
  readonly detail: string;
}

/**
 * A malformed frame's weird. Made only for malformed frames, so a good frame allocates nothing;
 * parsers return it (or null) rather than leave it somewhere for the caller to pick up.
 */
export function weird(code: WeirdCode, detail: string): Weird {
  return { code, detail };
}

/** The report text of a weird: the code's layer prefix, then the detail. */
export function weirdText(code: WeirdCode, detail: string): string {
  return PREFIX[code] + detail;
}
