/**
 * The matrix as a host firewall: for one component role, the nftables ruleset (or iptables-restore
 * text) that lets through exactly what the matrix allows that machine and drops and counts the rest.
 * Pure: rule set + inventory + role in, text out (the CLI prints it; `nft -f` loads it).
 *
 * Choices (the matrix speaks of TCP/UDP ports only; the rest is ours):
 * - Two base chains in `table inet netmatrix` (IPv4 and IPv6 together), `input` and `output`, policy
 *   drop. Forwarding is not hooked: a component's own traffic is what the matrix is about.
 * - `ct state established,related` accepted first: a connection the matrix allowed may answer, and ICMP
 *   errors about it pass. `ct state invalid` is dropped and counted.
 * - All loopback (`iif lo` / `oif lo`) accepted: same-machine traffic is local, not network traffic.
 *   Local-only rows (GUIs) get their own `iif lo` rule, for the record; from another machine they fall
 *   through to the final drop.
 * - A row where the role is the `to` side opens `input` from the `from` roles' addresses (inventory
 *   blocks; `internet` = any address; `localhost` = loopback) to the row's transport and ports. A row
 *   where the role is the `from` side opens `output` to the `to` roles' addresses and ports.
 *   `via: tunnel` rows use the role's addresses inside the inventory's tunnel networks (or the whole
 *   tunnel networks when no host address lies in them); underlay rows use the addresses outside them.
 *   A role with no address in the inventory opens nothing (a warning says so).
 * - Host services out of the matrix's scope (rules.outOfScope: DNS, NTP, DHCP, LDAP, ...) are allowed
 *   outbound to any address. DHCPv4 clients use packet sockets (not filtered); DHCPv6 server replies
 *   (to a multicast solicit, so not tracked) are accepted from link-local sources to UDP/546.
 * - ICMP: outbound echo requests (ping) and the error messages a host sends are allowed; inbound echo
 *   requests are dropped (nothing enters a node except what the matrix allows). ICMPv6 neighbour and
 *   router discovery and MLD pass both ways (links do not work without them), as do packet-too-big and
 *   the other errors (path MTU discovery). Errors about tracked connections pass as `related` anyway.
 *   These ICMP rules come before the `ct state invalid` drop.
 * - Each chain ends with a rate-limited `log prefix "netmatrix drop in|out: "` and a drop counted in a
 *   named counter (`input_drop`, `output_drop`: `nft list counters`). Every accept rule has a counter
 *   and a comment citing its row.
 * - The script replaces only its own table (`table ...; delete table ...; table ... { }`, atomic).
 */
import { cidrWithin, formatCidr, type Cidr } from '../model/address.js';
import type { Inventory } from '../policy/inventory.js';
import type { RuleSet } from '../policy/load.js';
import type { ComponentRole, Role, Transport } from '../model/vocabulary.js';
import { portsContain, type MatrixRow, type PortRange } from '../policy/schema.js';

export type FirewallFormat = 'nft' | 'iptables' | 'ip6tables';

export interface FirewallResult {
  text: string;
  /** Rows that could not be opened (a role with no address), and similar notes for stderr. */
  warnings: string[];
}

/** One accept rule, family-neutral: the generators render it. */
interface Accept {
  chain: 'input' | 'output';
  /** Row id or a fixed name ("loopback", "icmp", ...). */
  cite: string;
  /** Interface match: loopback only. */
  loopback?: boolean;
  /** Peer addresses (saddr on input, daddr on output); undefined = any address. */
  peers?: Cidr[];
  transport: Transport[];
  ports: PortRange[];
  /** Source port (DHCPv6 replies). */
  sport?: number;
  comment: string;
}

export const TABLE = 'netmatrix';
export const DROP_COUNTERS = { input: 'input_drop', output: 'output_drop' } as const;

/**
 * DHCPv6's own ports (RFC 8415): servers answer from 547 to a client's 546. Which host services are
 * out of scope, and on which ports, the rule files say; that a reply comes back from 547 to 546 is
 * the protocol's, and no rule row says it.
 */
const DHCPV6_CLIENT_PORT = 546;
const DHCPV6_SERVER_PORT = 547;

/** Comments and log prefixes carry rule-file text: keep it printable and quote-free. */
function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9 ._:/()+,=-]/g, '_').slice(0, 100);
}

/** Drops blocks inside other blocks (nft rejects overlapping intervals in an anonymous set). */
function minimalCidrs(cidrs: readonly Cidr[]): Cidr[] {
  const out: Cidr[] = [];
  const sorted = [...cidrs].sort((a, b) => a.bits - b.bits);
  for (const c of sorted) if (!out.some((o) => cidrWithin(c, o))) out.push(c);
  return out.sort((a, b) => a.version - b.version || (a.base < b.base ? -1 : a.base > b.base ? 1 : a.bits - b.bits));
}

function mergePorts(ports: readonly PortRange[]): PortRange[] {
  const sorted = [...ports].sort((a, b) => a.lo - b.lo);
  const out: PortRange[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && p.lo <= last.hi + 1) last.hi = Math.max(last.hi, p.hi);
    else out.push({ lo: p.lo, hi: p.hi });
  }
  return out;
}

function inTunnel(c: Cidr, tunnel: readonly Cidr[]): boolean {
  return tunnel.some((t) => cidrWithin(c, t));
}

/** Addresses of a role for a row, or 'any' / 'loopback'. Empty array: nothing known. */
function peersOf(role: Role, row: MatrixRow, inventory: Inventory): Cidr[] | 'any' | 'loopback' {
  if (role === 'internet') return 'any';
  if (role === 'localhost') return 'loopback';
  const all = inventory.hosts.filter((h) => h.role === role).flatMap((h) => h.cidrs);
  if (row.via === 'tunnel') {
    const inside = all.filter((c) => inTunnel(c, inventory.tunnel));
    return inside.length > 0 ? inside : [...inventory.tunnel];
  }
  return inventory.tunnel.length > 0 ? all.filter((c) => !inTunnel(c, inventory.tunnel)) : all;
}

function describePorts(row: { transport: Transport[]; ports: PortRange[] }): string {
  const ports = mergePorts(row.ports).map((p) => (p.lo === p.hi ? `${p.lo}` : `${p.lo}-${p.hi}`));
  return `${row.transport.join('+')}/${ports.join(',')}`;
}

/** The accept rules for a role, in order, plus warnings. */
export function firewallPlan(rules: RuleSet, inventory: Inventory, role: ComponentRole): { accepts: Accept[]; warnings: string[] } {
  const accepts: Accept[] = [];
  const warnings: string[] = [];
  for (const row of rules.rows) {
    const sides: Array<{ chain: 'input' | 'output'; peers: Role[] }> = [];
    if (row.to.includes(role)) sides.push({ chain: 'input', peers: row.from });
    if (row.from.includes(role)) sides.push({ chain: 'output', peers: row.to });
    for (const { chain, peers } of sides) {
      const any = peers.some((p) => peersOf(p, row, inventory) === 'any');
      const loopback = peers.some((p) => peersOf(p, row, inventory) === 'loopback');
      const what = `${row.id}: ${peers.join(',')} ${chain === 'input' ? '->' : '<-'} ${role} ${describePorts(row)}${row.via === 'tunnel' ? ' (tunnel)' : ''}`;
      const base = { chain, cite: row.id, transport: row.transport, ports: row.ports, comment: `row ${row.id}` };
      if (row.localOnly || (loopback && !any && peers.every((p) => p === 'localhost'))) {
        if (chain === 'input') accepts.push({ ...base, loopback: true, comment: `row ${row.id} (local only)` });
        continue;
      }
      if (any) {
        accepts.push(base);
        continue;
      }
      const cidrs: Cidr[] = [];
      for (const p of peers) {
        const got = peersOf(p, row, inventory);
        if (Array.isArray(got)) cidrs.push(...got);
      }
      if (cidrs.length === 0) {
        warnings.push(`row ${what}: no ${peers.join('/')} address in the inventory${row.via === 'tunnel' ? ' tunnel' : ''}; not opened`);
        continue;
      }
      accepts.push({ ...base, peers: minimalCidrs(cidrs) });
    }
  }
  for (const s of rules.outOfScope) {
    accepts.push({ chain: 'output', cite: s.id, transport: s.transport, ports: s.ports, comment: `out of scope ${s.id}` });
    if (s.transport.includes('udp') && portsContain(s.ports, DHCPV6_CLIENT_PORT)) {
      const linkLocal: Cidr = { version: 6, base: 0xfe80n << 112n, bits: 10, text: 'fe80::/10' };
      const client = { lo: DHCPV6_CLIENT_PORT, hi: DHCPV6_CLIENT_PORT };
      accepts.push({ chain: 'input', cite: s.id, peers: [linkLocal], transport: ['udp'], ports: [client], sport: DHCPV6_SERVER_PORT, comment: `out of scope ${s.id} (DHCPv6 replies)` });
    }
  }
  return { accepts, warnings };
}

// ---------------------------------------------------------------------------------------------------
// nftables

function nftPorts(ports: readonly PortRange[]): string {
  const items = mergePorts(ports).map((p) => (p.lo === p.hi ? `${p.lo}` : `${p.lo}-${p.hi}`));
  return items.length === 1 ? (items[0] as string) : `{ ${items.join(', ')} }`;
}

function nftSet(items: string[]): string {
  return items.length === 1 ? (items[0] as string) : `{ ${items.join(', ')} }`;
}

function nftRules(a: Accept): string[] {
  const l4 =
    a.transport.length === 1
      ? `${a.sport !== undefined ? `${a.transport[0]} sport ${a.sport} ` : ''}${a.transport[0]} dport ${nftPorts(a.ports)}`
      : `meta l4proto { ${a.transport.join(', ')} }${a.sport !== undefined ? ` th sport ${a.sport}` : ''} th dport ${nftPorts(a.ports)}`;
  const tail = `${l4} counter accept comment "${safe(a.comment)}"`;
  if (a.loopback) return [`${a.chain === 'input' ? 'iif' : 'oif'} "lo" ${tail}`];
  if (!a.peers) return [tail];
  const dir = a.chain === 'input' ? 'saddr' : 'daddr';
  const out: string[] = [];
  const v4 = a.peers.filter((c) => c.version === 4).map(formatCidr);
  const v6 = a.peers.filter((c) => c.version === 6).map(formatCidr);
  if (v4.length > 0) out.push(`ip ${dir} ${nftSet(v4)} ${tail}`);
  if (v6.length > 0) out.push(`ip6 ${dir} ${nftSet(v6)} ${tail}`);
  return out;
}

function header(rules: RuleSet, role: ComponentRole, comment: string): string[] {
  return [
    `${comment} netmatrix firewall for role ${role}: matrix ${safe(rules.name)} (${safe(rules.title)}), phase ${rules.phase}`,
    `${comment} Generated from ${rules.files.map((f) => safe(f)).join(', ')}. Everything not listed is dropped and counted.`,
  ];
}

export function nftRuleset(rules: RuleSet, inventory: Inventory, role: ComponentRole): FirewallResult {
  const { accepts, warnings } = firewallPlan(rules, inventory, role);
  const lines: string[] = ['#!/usr/sbin/nft -f', ...header(rules, role, '#')];
  lines.push(`# Replaces only table inet ${TABLE}, atomically (load: nft -f FILE; remove: nft delete table inet ${TABLE}).`);
  lines.push(`table inet ${TABLE}`, `delete table inet ${TABLE}`, '', `table inet ${TABLE} {`);
  lines.push(`\tcounter ${DROP_COUNTERS.input} {`, '\t}', `\tcounter ${DROP_COUNTERS.output} {`, '\t}', '');
  for (const chain of ['input', 'output'] as const) {
    const incoming = chain === 'input';
    lines.push(`\tchain ${chain} {`, `\t\ttype filter hook ${chain} priority filter; policy drop;`);
    lines.push('\t\t# replies to allowed connections, and ICMP errors about them');
    lines.push('\t\tct state established,related accept comment "established"');
    lines.push('\t\t# same machine: local, not network traffic');
    lines.push(`\t\t${incoming ? 'iif' : 'oif'} "lo" accept comment "loopback"`);
    lines.push('\t\t# ICMPv6 neighbour/router discovery and MLD (links need them), path MTU and errors');
    lines.push(
      `\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-neighbor-solicit, nd-neighbor-advert, ${incoming ? 'nd-router-advert, nd-redirect, mld-listener-query' : 'nd-router-solicit, mld-listener-report, mld2-listener-report, echo-request'} } accept comment "icmpv6"`,
    );
    lines.push(`\t\tct state invalid counter name ${DROP_COUNTERS[chain]} drop comment "invalid"`);
    lines.push(
      incoming
        ? '\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem } accept comment "icmp errors"'
        : '\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem, echo-request } accept comment "icmp errors, ping"',
    );
    for (const a of accepts.filter((x) => x.chain === chain)) {
      lines.push(`\t\t# ${safe(a.comment)}`);
      for (const r of nftRules(a)) lines.push(`\t\t${r}`);
    }
    lines.push('\t\t# everything else: logged (rate-limited) and dropped, counted');
    lines.push(`\t\tlimit rate 5/second burst 10 packets log prefix "netmatrix drop ${incoming ? 'in' : 'out'}: " comment "log"`);
    lines.push(`\t\tcounter name ${DROP_COUNTERS[chain]} drop comment "not in the matrix"`);
    lines.push('\t}');
    if (chain === 'input') lines.push('');
  }
  lines.push('}');
  return { text: `${lines.join('\n')}\n`, warnings };
}

// ---------------------------------------------------------------------------------------------------
// iptables-restore (one family per text: iptables-restore for IPv4, ip6tables-restore for IPv6)

function iptRules(a: Accept, family: 4 | 6): string[] {
  const chain = a.chain === 'input' ? 'INPUT' : 'OUTPUT';
  let addrs: Array<string | undefined> = [undefined];
  if (a.peers) {
    const mine = a.peers.filter((c) => c.version === family).map(formatCidr);
    if (mine.length === 0) return [];
    addrs = mine;
  }
  const out: string[] = [];
  for (const addr of addrs) {
    for (const proto of a.transport) {
      for (const p of mergePorts(a.ports)) {
        const parts = [`-A ${chain}`];
        if (a.loopback) parts.push(a.chain === 'input' ? '-i lo' : '-o lo');
        if (addr !== undefined) parts.push(`${a.chain === 'input' ? '-s' : '-d'} ${addr}`);
        parts.push(`-p ${proto} -m ${proto}`);
        if (a.sport !== undefined) parts.push(`--sport ${a.sport}`);
        parts.push(`--dport ${p.lo === p.hi ? p.lo : `${p.lo}:${p.hi}`}`);
        parts.push(`-m comment --comment "${safe(a.comment)}" -j ACCEPT`);
        out.push(parts.join(' '));
      }
    }
  }
  return out;
}

/**
 * iptables-restore text for one family (4: iptables-restore, 6: ip6tables-restore). It replaces the
 * whole filter table: INPUT and OUTPUT policy DROP, FORWARD left ACCEPT (as the nft table, which does
 * not hook forwarding). Drops are counted by the final rule of each chain (`iptables -L -v -n`).
 */
export function iptablesRuleset(rules: RuleSet, inventory: Inventory, role: ComponentRole, family: 4 | 6): FirewallResult {
  const { accepts, warnings } = firewallPlan(rules, inventory, role);
  const lines: string[] = [...header(rules, role, '#')];
  lines.push(`# ${family === 4 ? 'IPv4: iptables-restore < FILE' : 'IPv6: ip6tables-restore < FILE'} (replaces the filter table)`);
  lines.push('*filter', ':INPUT DROP [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT DROP [0:0]');
  for (const chain of ['INPUT', 'OUTPUT'] as const) {
    const incoming = chain === 'INPUT';
    lines.push(`-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "established" -j ACCEPT`);
    lines.push(`-A ${chain} -m conntrack --ctstate INVALID -m comment --comment "invalid" -j DROP`);
    lines.push(`-A ${chain} ${incoming ? '-i' : '-o'} lo -m comment --comment "loopback" -j ACCEPT`);
    if (family === 6) {
      const types = [
        'destination-unreachable',
        'packet-too-big',
        'time-exceeded',
        'parameter-problem',
        'neighbour-solicitation',
        'neighbour-advertisement',
        ...(incoming ? ['router-advertisement', 'redirect', '130'] : ['router-solicitation', '131', '143', 'echo-request']),
      ];
      for (const t of types) lines.push(`-A ${chain} -p ipv6-icmp -m icmp6 --icmpv6-type ${t} -m comment --comment "icmpv6" -j ACCEPT`);
    } else {
      const types = ['destination-unreachable', 'time-exceeded', 'parameter-problem', ...(incoming ? [] : ['echo-request'])];
      for (const t of types) lines.push(`-A ${chain} -p icmp -m icmp --icmp-type ${t} -m comment --comment "icmp" -j ACCEPT`);
    }
    for (const a of accepts.filter((x) => x.chain === (incoming ? 'input' : 'output'))) lines.push(...iptRules(a, family));
    lines.push(`-A ${chain} -m limit --limit 5/sec --limit-burst 10 -j LOG --log-prefix "netmatrix drop ${incoming ? 'in' : 'out'}: "`);
    lines.push(`-A ${chain} -m comment --comment "not in the matrix" -j DROP`);
  }
  lines.push('COMMIT');
  return { text: `${lines.join('\n')}\n`, warnings };
}

/** The firewall for a role in the chosen format. */
export function firewallRuleset(rules: RuleSet, inventory: Inventory, role: ComponentRole, format: FirewallFormat): FirewallResult {
  if (format === 'nft') return nftRuleset(rules, inventory, role);
  return iptablesRuleset(rules, inventory, role, format === 'iptables' ? 4 : 6);
}
