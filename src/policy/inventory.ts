/**
 * Which address is which component. From `--node/--researcher/--vpnserver ADDR|CIDR` flags or a
 * `--hosts FILE.yaml`:
 *
 *   hosts:
 *     - name: node1
 *       role: node
 *       addresses: [10.0.0.2, "fd00::2"]
 *   tunnel: [10.78.0.0/24]        # optional: the VPN's inner network
 *
 * Loopback addresses are `localhost`; any other address not listed is `internet`.
 */
import type { Node } from 'yaml';
import { RulesError, UsageError } from '../model/errors.js';
import { cidrContains, cidrOverlaps, isGroupAddress, isLoopback, parseCidr, parseIP, type Cidr } from '../model/address.js';
import { COMPONENT_ROLES, type ComponentRole, type Role } from '../model/vocabulary.js';
import { YamlSource } from './yaml-fields.js';

export interface InventoryHost {
  name: string;
  role: ComponentRole;
  cidrs: Cidr[];
  /** Where the host was declared (file:line or the flag). */
  source: string;
}

export interface Inventory {
  hosts: InventoryHost[];
  tunnel: Cidr[];
}

export interface EndpointInfo {
  role: Role;
  /** Inventory host name, when the address belongs to one. */
  host?: string;
  loopback: boolean;
  /** Multicast or broadcast destination. */
  group: boolean;
  /** In the VPN's inner network. */
  tunnel: boolean;
}

function checkOverlaps(hosts: InventoryHost[], fail: (host: InventoryHost, message: string) => never): void {
  for (let i = 0; i < hosts.length; i++) {
    const a = hosts[i] as InventoryHost;
    for (let j = 0; j < i; j++) {
      const b = hosts[j] as InventoryHost;
      if (a.role === b.role) continue;
      for (const ca of a.cidrs) {
        for (const cb of b.cidrs) {
          if (cidrOverlaps(ca, cb)) {
            fail(a, `${ca.text} (${a.role}) overlaps ${cb.text} of ${b.name} (${b.role}, ${b.source})`);
          }
        }
      }
    }
  }
}

export function parseInventory(file: string, text: string): Inventory {
  const src: YamlSource = new YamlSource(file, text);
  const top = src.map(src.root, '', ['hosts', 'tunnel']);
  const hostNodes = src.seq(top, 'hosts', '');
  if (!hostNodes || hostNodes.length === 0) src.fail(src.root, 'hosts', 'missing or empty list of hosts');
  const names = new Set<string>();
  const nodesByHost = new Map<InventoryHost, Node>();
  const hosts = hostNodes.map((node, i) => {
    const path = `hosts[${i}]`;
    const m = src.map(node, path, ['name', 'role', 'addresses', 'comment']);
    const name = src.str(m, 'name', path, true);
    if (names.has(name)) src.fail(src.get(m, 'name'), `${path}.name`, `duplicate host name "${name}"`);
    names.add(name);
    const roleText = src.str(m, 'role', path, true);
    if (!(COMPONENT_ROLES as readonly string[]).includes(roleText)) {
      src.fail(src.get(m, 'role'), `${path}.role`, `unknown role "${roleText}" (expected ${COMPONENT_ROLES.join(', ')})`);
    }
    const cidrs = (src.list(m, 'addresses', path, true) ?? []).map(({ value, node: n }, j) => {
      const c = parseCidr(value);
      if (!c) src.fail(n, `${path}.addresses[${j}]`, `"${value}" is not an IP address or CIDR block`);
      return c;
    });
    const host: InventoryHost = { name, role: roleText as ComponentRole, cidrs, source: `${file}:${src.lineOf(node)}` };
    nodesByHost.set(host, node);
    return host;
  });
  const tunnel = (src.list(top, 'tunnel', '', false) ?? []).map(({ value, node }, j) => {
    const c = parseCidr(value);
    if (!c) src.fail(node, `tunnel[${j}]`, `"${value}" is not a CIDR block`);
    return c;
  });
  checkOverlaps(hosts, (host, message) => src.fail(nodesByHost.get(host), `hosts (${host.name}).addresses`, message));
  return { hosts, tunnel };
}

export interface InventoryFlags {
  node?: string[];
  researcher?: string[];
  vpnserver?: string[];
  tunnel?: string[];
}

/** Each flag value is one host (a CIDR stands for several hosts of that role). */
export function inventoryFromFlags(flags: InventoryFlags): Inventory {
  const hosts: InventoryHost[] = [];
  for (const role of COMPONENT_ROLES) {
    for (const value of flags[role] ?? []) {
      const c = parseCidr(value);
      if (!c) throw new UsageError(`--${role} ${value}: not an IP address or CIDR block`);
      hosts.push({ name: value, role, cidrs: [c], source: `--${role} ${value}` });
    }
  }
  const tunnel = (flags.tunnel ?? []).map((value) => {
    const c = parseCidr(value);
    if (!c) throw new UsageError(`--tunnel ${value}: not a CIDR block`);
    return c;
  });
  checkOverlaps(hosts, (host, message) => {
    throw new UsageError(`${host.source}: ${message}`);
  });
  return { hosts, tunnel };
}

/** Flags add to a hosts file; overlapping roles between the two are an error. */
export function mergeInventories(a: Inventory, b: Inventory): Inventory {
  const hosts = [...a.hosts, ...b.hosts];
  checkOverlaps(hosts, (host, message) => {
    throw new RulesError(`${host.source}: ${message}`);
  });
  return { hosts, tunnel: [...a.tunnel, ...b.tunnel] };
}

/** Resolves addresses to roles, longest prefix first; cached per address text. */
export class RoleResolver {
  private readonly cache = new Map<string, EndpointInfo>();
  constructor(readonly inventory: Inventory) {}

  resolve(address: string): EndpointInfo {
    const cached = this.cache.get(address);
    if (cached) return cached;
    const info = this.lookup(address);
    if (this.cache.size > 65536) this.cache.clear();
    this.cache.set(address, info);
    return info;
  }

  private lookup(address: string): EndpointInfo {
    const ip = parseIP(address);
    if (!ip) return { role: 'internet', loopback: false, group: false, tunnel: false };
    const loopback = isLoopback(ip.version, ip.value);
    const group = isGroupAddress(ip.version, ip.value);
    const tunnel = this.inventory.tunnel.some((c) => cidrContains(c, ip.version, ip.value));
    let best: InventoryHost | undefined;
    let bestBits = -1;
    for (const host of this.inventory.hosts) {
      for (const c of host.cidrs) {
        if (c.bits > bestBits && cidrContains(c, ip.version, ip.value)) {
          best = host;
          bestBits = c.bits;
        }
      }
    }
    if (best) {
      // A single address names one machine (all of a host's addresses are that machine); a CIDR block
      // stands for many machines, so there each address is its own machine.
      const single = bestBits === (ip.version === 4 ? 32 : 128);
      return { role: best.role, host: single ? best.name : address, loopback, group, tunnel };
    }
    return { role: loopback ? 'localhost' : 'internet', loopback, group, tunnel };
  }
}

/** True when both ends are the same machine: loopback, identical address, or one inventory host. */
export function sameMachine(clientIp: string, serverIp: string, client: EndpointInfo, server: EndpointInfo): boolean {
  if (client.loopback || server.loopback) return true;
  if (clientIp === serverIp) return true;
  return client.host !== undefined && client.host === server.host;
}
