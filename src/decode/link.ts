/**
 * Link layers: find where the network layer starts in a frame and which network protocol it is.
 *
 * gopacket style: a function over (linkType, bytes) that fills a caller-owned result object with an
 * offset into the same bytes; nothing is copied and nothing is thrown.
 */
import { weird, type Weird, type WeirdCode } from './weird.js';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** DLT_PPP: a PPP frame (address 0xff, control 0x03, protocol), as written by pppd and some tools. */
export const LINKTYPE_PPP = 9;
/** DLT_RAW as written by some BSDs (12) and OpenBSD (14); both mean raw IP like LINKTYPE_RAW. */
export const LINKTYPE_RAW_12 = 12;
export const LINKTYPE_RAW_14 = 14;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_IEEE802_11 = 105;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** Link types this decoder understands (names: see src/capture/linktypes.ts). */
export const SUPPORTED_LINK_TYPES: readonly number[] = Object.freeze([
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  LINKTYPE_PPP,
  LINKTYPE_RAW_12,
  LINKTYPE_RAW_14,
  LINKTYPE_RAW,
  LINKTYPE_LOOP,
  LINKTYPE_IEEE802_11,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IEEE802_11_RADIOTAP,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
]);

const SUPPORTED = new Set(SUPPORTED_LINK_TYPES);

export function isSupportedLinkType(lt: number): boolean {
  return SUPPORTED.has(lt);
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;
export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MULTICAST = 0x8848;
export const ETHERTYPE_PPPOE_SESSION = 0x8864;
/** IEEE 802.1ah provider backbone bridging: an I-tag, then the customer's Ethernet header. */
export const ETHERTYPE_PBB = 0x88e7;
/** Cisco VN-tag: a 4-byte tag, then the next ethertype. */
export const ETHERTYPE_VNTAG = 0x8926;
/** Cisco FabricPath: a 16-byte outer header in place of the Ethernet header, then Ethernet. */
export const ETHERTYPE_FABRICPATH = 0x8903;

/** PPP protocol numbers (RFC 1661, 5072) of the network layers decoded. */
export const PPP_IPV4 = 0x0021;
export const PPP_IPV6 = 0x0057;

/** Address families seen in NULL/LOOP headers. AF_INET6 differs per OS. */
export const AF_INET = 2;
const AF_INET6_LINUX = 10;
const AF_INET6_BSD = 24; // NetBSD, OpenBSD, BSD/OS (and Npcap loopback)
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

/** What the link layer says comes next. */
export const NET_IPV4 = 4;
export const NET_IPV6 = 6;
export const NET_SKIP = 1;
export const NET_MALFORMED = 2;
export type LinkStatus = typeof NET_IPV4 | typeof NET_IPV6 | typeof NET_SKIP | typeof NET_MALFORMED;

export interface LinkResult {
  /** NET_IPV4 / NET_IPV6: the network header starts at `offset`; NET_SKIP: see `reason`; NET_MALFORMED: see `weird`. */
  status: LinkStatus;
  offset: number;
  /** Ethertype (or the ethertype the address family / version nibble maps to); 0 when unknown. */
  ethertype: number;
  /** NET_SKIP: why the frame is not decoded further (not IP). */
  reason: string;
  /** NET_MALFORMED: what is wrong with the link header. */
  weird: Weird | null;
  /**
   * The encapsulations walked through, in order, comma-separated ('vlan', 'mpls', 'pppoe', 'pbb',
   * 'vntag', 'fabricpath'); '' for a plain frame (the usual case: nothing is built for it).
   */
  encap: string;
}

export function newLinkResult(): LinkResult {
  return { status: NET_SKIP, offset: 0, ethertype: 0, reason: '', weird: null, encap: '' };
}

/** Appends an encapsulation kind to a comma-separated list (once per run of the same kind: QinQ is one 'vlan'). */
export function addEncap(list: string, kind: string): string {
  if (list === '') return kind;
  if (list === kind || list.endsWith(',' + kind)) return list;
  return list + ',' + kind;
}

const ETHERTYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0806, 'ARP'],
  [0x0842, 'Wake-on-LAN'],
  [0x22f3, 'TRILL'],
  [0x6002, 'DEC MOP RC'],
  [0x8035, 'RARP'],
  [0x809b, 'AppleTalk'],
  [0x80f3, 'AARP'],
  [0x8137, 'IPX'],
  [0x8808, 'Ethernet flow control'],
  [0x8809, 'Slow protocols (LACP)'],
  [0x8863, 'PPPoE discovery'],
  [0x888e, 'EAPOL'],
  [0x8892, 'PROFINET'],
  [0x889a, 'HyperSCSI'],
  [0x88cc, 'LLDP'],
  [0x88e1, 'HomePlug AV'],
  [0x88e5, 'MACsec'],
  [0x88f7, 'PTP'],
  [0x8902, 'CFM'],
  [0x893a, 'IEEE 1905'],
  [0x9000, 'Ethernet loopback'],
]);

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

// Skip reasons are per ethertype; keep the strings so an ARP storm does not allocate per frame.
const skipReasonCache = new Map<number, string>();

export function ethertypeSkipReason(et: number): string {
  let r = skipReasonCache.get(et);
  if (r === undefined) {
    const name = ETHERTYPE_NAMES.get(et);
    r = name === undefined ? `ethertype 0x${hex4(et)}` : `ethertype 0x${hex4(et)} (${name})`;
    if (skipReasonCache.size >= 1024) skipReasonCache.clear();
    skipReasonCache.set(et, r);
  }
  return r;
}

function skip(out: LinkResult, reason: string): LinkStatus {
  out.status = NET_SKIP;
  out.reason = reason;
  out.weird = null;
  return NET_SKIP;
}

function malformed(out: LinkResult, code: WeirdCode, detail: string): LinkStatus {
  out.status = NET_MALFORMED;
  out.reason = '';
  out.weird = weird(code, detail);
  return NET_MALFORMED;
}

function net(out: LinkResult, status: typeof NET_IPV4 | typeof NET_IPV6, offset: number, et: number): LinkStatus {
  out.status = status;
  out.offset = offset;
  out.ethertype = et;
  out.reason = '';
  out.weird = null;
  return status;
}

/**
 * Dispatch on an ethertype whose payload starts at data[off]: walks stacked 802.1Q / 802.1ad /
 * 0x9100 tags, VN-tags, PBB I-tags, MPLS label stacks and PPPoE sessions (Zeek's packet analyzers
 * for each, chained the same way). The frame ends at data[end].
 */
function ethertypeDispatch(data: Uint8Array, end: number, et: number, off: number, out: LinkResult): LinkStatus {
  for (;;) {
    if (et === ETHERTYPE_IPV4) return net(out, NET_IPV4, off, et);
    if (et === ETHERTYPE_IPV6) return net(out, NET_IPV6, off, et);
    if (et === ETHERTYPE_VLAN || et === ETHERTYPE_QINQ || et === ETHERTYPE_QINQ_OLD) {
      // Tag: TCI (2 bytes) then the next ethertype (2 bytes).
      if (off + 4 > end) return malformed(out, 'truncated_VLAN_header', `truncated tag (${end - off} of 4 bytes)`);
      out.encap = addEncap(out.encap, 'vlan');
      et = (data[off + 2]! << 8) | data[off + 3]!;
      off += 4;
    } else if (et === ETHERTYPE_VNTAG) {
      // Tag (4 bytes) then the next ethertype (2 bytes).
      if (off + 6 > end) return malformed(out, 'vntag_truncated_header', `truncated tag (${end - off} of 6 bytes)`);
      out.encap = addEncap(out.encap, 'vntag');
      et = (data[off + 4]! << 8) | data[off + 5]!;
      off += 6;
    } else if (et === ETHERTYPE_PBB) {
      // I-tag (4 bytes), the customer's destination and source addresses (12), its ethertype (2).
      if (off + 18 > end) return malformed(out, 'pbb_truncated_header', `truncated I-tag and customer header (${end - off} of 18 bytes)`);
      out.encap = addEncap(out.encap, 'pbb');
      et = (data[off + 16]! << 8) | data[off + 17]!;
      off += 18;
    } else if (et === ETHERTYPE_MPLS || et === ETHERTYPE_MPLS_MULTICAST) {
      return mpls(data, off, end, out);
    } else if (et === ETHERTYPE_PPPOE_SESSION) {
      // Version/type, code, session id, length (6 bytes), then the PPP protocol (2 bytes).
      if (off + 8 > end) return malformed(out, 'truncated_pppoe_header', `truncated header (${end - off} of 8 bytes)`);
      out.encap = addEncap(out.encap, 'pppoe');
      return ppp(data, off + 6, end, 'pppoe', out);
    } else {
      out.ethertype = et;
      return skip(out, ethertypeSkipReason(et));
    }
  }
}

/**
 * An MPLS label stack at data[off]: labels up to the one with the bottom-of-stack bit, then, as
 * RFC 3032 does not say what follows, IPv4 or IPv6 by the first nibble (Zeek's MPLS analyzer forwards
 * to IP the same way).
 */
function mpls(data: Uint8Array, off: number, end: number, out: LinkResult): LinkStatus {
  out.encap = addEncap(out.encap, 'mpls');
  for (;;) {
    if (off + 4 > end) return malformed(out, 'truncated_link_header', `truncated label stack (${end - off} of 4 bytes)`);
    const bottom = data[off + 2]! & 1;
    off += 4;
    if (bottom) break;
  }
  if (off >= end) return malformed(out, 'truncated_link_header', 'nothing after the label stack');
  const v = data[off]! >> 4;
  if (v === 4) return net(out, NET_IPV4, off, ETHERTYPE_IPV4);
  if (v === 6) return net(out, NET_IPV6, off, ETHERTYPE_IPV6);
  return skip(out, `mpls: payload is not IP (first nibble ${v})`);
}

/** A PPP protocol field at data[off] (2 bytes), the network layer right after it. */
function ppp(data: Uint8Array, off: number, end: number, layer: string, out: LinkResult): LinkStatus {
  if (off + 2 > end) return skip(out, `${layer}: no PPP protocol`);
  const proto = (data[off]! << 8) | data[off + 1]!;
  if (proto === PPP_IPV4) return net(out, NET_IPV4, off + 2, ETHERTYPE_IPV4);
  if (proto === PPP_IPV6) return net(out, NET_IPV6, off + 2, ETHERTYPE_IPV6);
  return skip(out, `${layer}: PPP protocol 0x${hex4(proto)}`);
}

// Each link layer reads the frame data[s, e).

function ethernet(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  if (e - s < 14) return malformed(out, 'truncated_ethernet_frame', `truncated header (${e - s} of 14 bytes)`);
  let et = (data[s + 12]! << 8) | data[s + 13]!;
  if (et === ETHERTYPE_FABRICPATH) {
    // Zeek's Ethernet analyzer: skip the 16-byte FabricPath header; the classic Ethernet header follows.
    if (e - s <= 16 + 14) return malformed(out, 'fabricpath_truncated_header', `truncated header (${e - s} of 31 bytes)`);
    out.encap = addEncap(out.encap, 'fabricpath');
    s += 16;
    et = (data[s + 12]! << 8) | data[s + 13]!;
  }
  let off = s + 14;
  if (et <= 1500) {
    // IEEE 802.3 length field: LLC follows. SNAP with OUI 0 carries an ethertype (RFC 1042).
    if (
      off + 8 <= e &&
      data[off] === 0xaa &&
      data[off + 1] === 0xaa &&
      data[off + 2] === 0x03 &&
      data[off + 3] === 0 &&
      data[off + 4] === 0 &&
      data[off + 5] === 0
    ) {
      et = (data[off + 6]! << 8) | data[off + 7]!;
      off += 8;
    } else {
      return skip(out, 'ethernet: 802.3 LLC frame');
    }
  }
  return ethertypeDispatch(data, e, et, off, out);
}

/** DLT_PPP: address 0xff and control 0x03 (omitted when compressed), then the PPP protocol. */
function pppLink(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  const off = e - s >= 2 && data[s] === 0xff && data[s + 1] === 0x03 ? s + 2 : s;
  if (off + 2 > e) return malformed(out, 'truncated_ppp_header', `truncated header (${e - s} of ${off - s + 2} bytes)`);
  return ppp(data, off, e, 'ppp', out);
}

/**
 * An 802.11 frame (Zeek's IEEE802_11 analyzer): data frames only, the 24-byte header (30 with four
 * addresses, 2 more for QoS), then LLC/SNAP with an ethertype. Management, control, null-data,
 * protected (encrypted) and A-MSDU frames carry nothing decodable here and are skipped.
 */
function ieee80211(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  const len = e - s;
  let hdr = 24;
  if (len <= hdr) return malformed(out, 'truncated_802_11_header', `nothing after the ${hdr}-byte header (${len} bytes)`);
  const fc = data[s]!;
  const flags = data[s + 1]!;
  if (!((fc >> 2) & 0x02)) return skip(out, '802.11: management or control frame');
  if ((fc >> 4) & 0x04) return skip(out, '802.11: data frame without data');
  if ((flags & 0x03) === 0x03) hdr += 6;
  if (len <= hdr) return malformed(out, 'truncated_802_11_header', `nothing after the ${hdr}-byte header (${len} bytes)`);
  if (flags & 0x40) return skip(out, '802.11: protected frame');
  if ((fc >> 4) & 0x08) {
    if (data[s + hdr]! & 0x80) return skip(out, '802.11: A-MSDU');
    hdr += 2;
    if (len <= hdr) return malformed(out, 'truncated_802_11_header', `nothing after the ${hdr}-byte header (${len} bytes)`);
  }
  const off = s + hdr;
  if (e - off < 8) return malformed(out, 'truncated_802_11_llc_header', `truncated LLC/SNAP header (${e - off} of 8 bytes)`);
  if (data[off] !== 0xaa || data[off + 1] !== 0xaa || data[off + 2] !== 0x03 || data[off + 3] !== 0 || data[off + 4] !== 0 || data[off + 5] !== 0) {
    return skip(out, '802.11: LLC frame');
  }
  return ethertypeDispatch(data, e, (data[off + 6]! << 8) | data[off + 7]!, off + 8, out);
}

/** Radiotap: its own length (little-endian) says where the 802.11 frame starts. */
function radiotap(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  if (e - s < 4) return malformed(out, 'truncated_radiotap_header', `truncated header (${e - s} of 4 bytes)`);
  const len = data[s + 2]! | (data[s + 3]! << 8);
  if (len < 4 || len > e - s) return malformed(out, 'truncated_radiotap_header', `header length ${len}, frame ${e - s} bytes`);
  return ieee80211(data, s + len, e, out);
}

function linuxSll(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  if (e - s < 16) return malformed(out, 'truncated_Linux_SLL_header', `truncated header (${e - s} of 16 bytes)`);
  const hatype = (data[s + 2]! << 8) | data[s + 3]!;
  const proto = (data[s + 14]! << 8) | data[s + 15]!;
  const notIp = sllSkipReason('linux sll', hatype, proto);
  return notIp === null ? ethertypeDispatch(data, e, proto, s + 16, out) : skip(out, notIp);
}

function linuxSll2(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  if (e - s < 20) return malformed(out, 'truncated_Linux_SLL2_header', `truncated header (${e - s} of 20 bytes)`);
  const proto = (data[s]! << 8) | data[s + 1]!;
  const hatype = (data[s + 8]! << 8) | data[s + 9]!;
  const notIp = sllSkipReason('linux sll2', hatype, proto);
  return notIp === null ? ethertypeDispatch(data, e, proto, s + 20, out) : skip(out, notIp);
}

const ARPHRD_NETLINK = 824;

/** Why an SLL / SLL2 frame carries no ethertype to dispatch on, or null when its protocol is one. */
function sllSkipReason(layer: string, hatype: number, proto: number): string | null {
  if (hatype === ARPHRD_NETLINK) return `${layer}: netlink`;
  // Values below 0x0600 are Linux ETH_P_* pseudo-protocols (802.2 LLC, 802.3, CAN...), not ethertypes.
  if (proto < 0x0600) return `${layer}: protocol 0x${hex4(proto)}`;
  return null;
}

function rawIp(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  if (e - s < 1) return malformed(out, 'raw_ip_empty_frame', 'empty frame');
  const v = data[s]! >> 4;
  if (v === 4) return net(out, NET_IPV4, s, ETHERTYPE_IPV4);
  if (v === 6) return net(out, NET_IPV6, s, ETHERTYPE_IPV6);
  return malformed(out, 'unknown_ip_version', `IP version ${v}`);
}

function rawIpFixed(data: Uint8Array, s: number, e: number, want: 4 | 6, out: LinkResult): LinkStatus {
  const name = want === 4 ? 'IPV4' : 'IPV6';
  if (e - s < 1) return malformed(out, 'linktype_empty_frame', `${name}: empty frame`);
  const v = data[s]! >> 4;
  if (v !== want) return malformed(out, 'linktype_ip_version_mismatch', `${name} but IP version ${v}`);
  return want === 4 ? net(out, NET_IPV4, s, ETHERTYPE_IPV4) : net(out, NET_IPV6, s, ETHERTYPE_IPV6);
}

function familyDispatch(af: number, ipAt: number, layer: string, out: LinkResult): LinkStatus {
  if (af === AF_INET) return net(out, NET_IPV4, ipAt, ETHERTYPE_IPV4);
  if (af === AF_INET6_BSD || af === AF_INET6_FREEBSD || af === AF_INET6_DARWIN || af === AF_INET6_LINUX) {
    return net(out, NET_IPV6, ipAt, ETHERTYPE_IPV6);
  }
  return skip(out, `${layer}: address family ${af}`);
}

function nullLink(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  if (e - s < 4) return malformed(out, 'null_analyzer_failed', `truncated header (${e - s} of 4 bytes)`);
  // Host byte order of the capturing machine, which the file does not tell us: the family values
  // are small, so whichever end holds the non-zero byte is the low-order end.
  const b0 = data[s]!;
  const b1 = data[s + 1]!;
  const b2 = data[s + 2]!;
  const b3 = data[s + 3]!;
  let af: number;
  if (b1 === 0 && b2 === 0 && b3 === 0) af = b0; // little-endian host
  else if (b0 === 0 && b1 === 0 && b2 === 0) af = b3; // big-endian host
  else af = ((b3 << 24) | (b2 << 16) | (b1 << 8) | b0) >>> 0;
  return familyDispatch(af, s + 4, 'null', out);
}

function loopLink(data: Uint8Array, s: number, e: number, out: LinkResult): LinkStatus {
  if (e - s < 4) return malformed(out, 'truncated_loop_header', `truncated header (${e - s} of 4 bytes)`);
  const af = ((data[s]! << 24) | (data[s + 1]! << 16) | (data[s + 2]! << 8) | data[s + 3]!) >>> 0;
  return familyDispatch(af, s + 4, 'loop', out);
}

/**
 * The network layer named by ethertype `et` at data[start, end) (GRE's protocol type): as after an
 * Ethernet header, VLAN tags, MPLS and the rest included.
 */
export function decodeEthertype(et: number, data: Uint8Array, out: LinkResult, start: number, end: number): LinkStatus {
  out.ethertype = 0;
  out.offset = start;
  out.encap = '';
  return ethertypeDispatch(data, end, et, start, out);
}

/**
 * Decode the link layer of one frame: data[start, end) (default: all of data). Fills `out` and
 * returns its status: NET_IPV4 / NET_IPV6 with `out.offset` (an index into data) at the start of the
 * IP header, NET_SKIP with `out.reason`, or NET_MALFORMED with `out.weird`.
 */
export function decodeLink(linkType: number, data: Uint8Array, out: LinkResult, start = 0, end = data.length): LinkStatus {
  out.ethertype = 0;
  out.offset = start;
  out.encap = '';
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return ethernet(data, start, end, out);
    case LINKTYPE_PPP:
      return pppLink(data, start, end, out);
    case LINKTYPE_IEEE802_11:
      return ieee80211(data, start, end, out);
    case LINKTYPE_IEEE802_11_RADIOTAP:
      return radiotap(data, start, end, out);
    case LINKTYPE_LINUX_SLL:
      return linuxSll(data, start, end, out);
    case LINKTYPE_LINUX_SLL2:
      return linuxSll2(data, start, end, out);
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_12:
    case LINKTYPE_RAW_14:
      return rawIp(data, start, end, out);
    case LINKTYPE_IPV4:
      return rawIpFixed(data, start, end, 4, out);
    case LINKTYPE_IPV6:
      return rawIpFixed(data, start, end, 6, out);
    case LINKTYPE_NULL:
      return nullLink(data, start, end, out);
    case LINKTYPE_LOOP:
      return loopLink(data, start, end, out);
    default:
      return skip(out, `unsupported link type ${linkType}`);
  }
}
