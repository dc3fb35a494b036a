/**
 * The words every stage shares: what a flow can be (service, transport) and who its ends are (roles).
 * Classification names services, the matrix and the inventory name roles, reports print both.
 */

/** Roles a flow endpoint can take. `localhost` means: the same machine as the other end. */
export const ROLES = ['node', 'researcher', 'vpnserver', 'internet', 'localhost'] as const;
export type Role = (typeof ROLES)[number];
/** Roles an inventory may give an address (the others are derived). */
export const COMPONENT_ROLES = ['node', 'researcher', 'vpnserver'] as const;
export type ComponentRole = (typeof COMPONENT_ROLES)[number];

/** What a flow's payload (or, for port-only services, the matrix's ports) says it carries. */
export const SERVICES = ['tls', 'http', 'h2c', 'wireguard', 'mpspdz', 'unknown'] as const;
export type Service = (typeof SERVICES)[number];

/** What a matrix row names: the transports with ports. */
export type Transport = 'tcp' | 'udp';
/**
 * What a connection is, named as Zeek's conn.log `proto` names it: TCP and UDP; `icmp` for ICMP and
 * ICMPv6 alike (the IP protocol number, 1 or 58, tells them apart, as Zeek's `ip_proto`); and
 * `unknown_transport` for any other IP protocol (OSPF, VRRP, ESP, ...), keyed by addresses and protocol.
 */
export type FlowTransport = Transport | 'icmp' | 'unknown_transport';

/** A flow's service: what classification says, or `icmp` for ICMP connections (never a matrix row's). */
export type FlowService = Service | 'icmp';

/** TCP header flag bits: the decoder reads them from packets, the flow records from NetFlow's tcp_flags. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Zeek's conn_state values (base/protocols/conn/main.zeek): the packet path derives them, flow records carry them. */
export const CONN_STATES = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'] as const;
export type ConnState = (typeof CONN_STATES)[number];
