/** Names of common LINKTYPE_* values (https://www.tcpdump.org/linktypes.html), without the prefix. */
const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0, 'NULL'],
  [1, 'EN10MB'],
  [3, 'AX25'],
  [6, 'IEEE802_5'],
  [7, 'ARCNET_BSD'],
  [8, 'SLIP'],
  [9, 'PPP'],
  [10, 'FDDI'],
  [12, 'RAW'], // DLT_RAW on some BSDs, written as-is by old tools
  [14, 'RAW'], // ditto
  [50, 'PPP_HDLC'],
  [51, 'PPP_ETHER'],
  [101, 'RAW'],
  [104, 'C_HDLC'],
  [105, 'IEEE802_11'],
  [107, 'FRELAY'],
  [108, 'LOOP'],
  [113, 'LINUX_SLL'],
  [117, 'PFLOG'],
  [119, 'IEEE802_11_PRISM'],
  [127, 'IEEE802_11_RADIOTAP'],
  [163, 'IEEE802_11_AVS'],
  [189, 'USB_LINUX'],
  [192, 'PPI'],
  [195, 'IEEE802_15_4_WITHFCS'],
  [220, 'USB_LINUX_MMAPPED'],
  [227, 'CAN_SOCKETCAN'],
  [228, 'IPV4'],
  [229, 'IPV6'],
  [231, 'DBUS'],
  [239, 'NFLOG'],
  [249, 'USBPCAP'],
  [252, 'WIRESHARK_UPPER_PDU'],
  [253, 'NETLINK'],
  [276, 'LINUX_SLL2'],
]);

/** Name of a LINKTYPE value: 'EN10MB', 'LINUX_SLL', 'USER13', ...; unknown values give `LINKTYPE ${n}`. */
export function linkTypeName(lt: number): string {
  const name = NAMES.get(lt);
  if (name !== undefined) return name;
  if (lt >= 147 && lt <= 162) return `USER${lt - 147}`;
  return `LINKTYPE ${lt}`;
}
