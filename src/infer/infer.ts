/**
 * `netmatrix infer`: an inventory proposed from traffic alone. Every flow of the captures is judged
 * with an empty inventory (nobody is a component), and its endpoints collect evidence:
 *
 * - the server of gRPC on TCP/50051 (TLS, or h2c) is a researcher, its clients are nodes;
 * - the server of WireGuard on UDP/51820 is a vpnserver; its clients are components (node or
 *   researcher: the tunnel hides which);
 * - the peers of secagg (TCP/14000-14099) are components;
 * - before 5.0 (rule set legacy-mqtt): the server of the MQTT broker (TCP/1883, by port only: weak)
 *   and of the restful service (HTTP on TCP/8844) is a researcher (the broker's machine has that role
 *   there); their clients are components (nodes, or a researcher when the broker is elsewhere); an
 *   address that is both a server and a client of these is listed, not proposed;
 * - the server of the node GUI (TCP/8484, 8443) is probably a node (supporting evidence only).
 *
 * Each role has a confidence (high / medium / low) from the strength of its evidence; an address with
 * evidence for two roles, or for "a component" only, is listed as an ambiguity, never guessed
 * silently. Loopback, multicast and broadcast addresses are ignored. The tunnel network (`tunnel:`)
 * is not inferred: the user adds it (see `proposalYaml`).
 */
import { analyzeCaptures, type AnalysisResult } from '../engine/analyze.js';
import { isFailedAttempt } from '../flow/tcp-state.js';
import { isGroupAddress, isLoopback, parseIP } from '../model/address.js';
import type { JudgedFlow } from '../policy/judge.js';
import { loadRuleSet, type RuleSet } from '../policy/load.js';
import type { ComponentRole } from '../model/vocabulary.js';

export type Confidence = 'high' | 'medium' | 'low';

/** Strength of one piece of evidence: 3 strong, 2 medium, 1 weak. */
type Strength = 1 | 2 | 3;

const CONFIDENCE: Record<Strength, Confidence> = { 3: 'high', 2: 'medium', 1: 'low' };

export const GRPC_PORT = 50051;
export const WIREGUARD_PORT = 51820;
export const SECAGG_PORTS = { lo: 14000, hi: 14099 } as const;
export const NODE_GUI_PORTS = [8484, 8443] as const;
/** Fed-BioMed before 5.0: the MQTT broker and the restful file service. */
export const MQTT_PORT = 1883;
export const RESTFUL_PORT = 8844;
type LegacyService = 'MQTT broker' | 'restful service';

/** One kind of evidence about one address, aggregated over its flows. */
interface Clue {
  /** The role it points to, or 'component' (node or researcher, which is unknown). */
  role: ComponentRole | 'component';
  /** What it is, e.g. "TLS server on 50051". */
  what: string;
  strength: Strength;
  /** Peer addresses. */
  peers: Set<string>;
  flows: number;
  /** ALPN values offered or selected on these flows. */
  alpn: Set<string>;
  /** Only supports a role already shown by other evidence; never proposes one alone. */
  supportOnly: boolean;
  /** Evidence from the pre-5.0 broker or restful service. */
  legacy?: LegacyService;
}

export interface InferredHost {
  name: string;
  role: ComponentRole;
  addresses: string[];
  confidence: Confidence;
  /** One line per kind of evidence, strongest first. */
  evidence: string[];
}

export interface Ambiguity {
  address: string;
  /** Roles the evidence points to ('component': node or researcher). */
  roles: (ComponentRole | 'component')[];
  message: string;
}

export interface Inference {
  hosts: InferredHost[];
  ambiguities: Ambiguity[];
  /** Addresses seen in flows with no component evidence (the Internet, outsiders). */
  others: string[];
}

const ROLE_ORDER: ComponentRole[] = ['researcher', 'node', 'vpnserver'];

function usable(address: string): boolean {
  const ip = parseIP(address);
  if (!ip) return false;
  if (ip.value === 0n) return false; // unspecified
  return !isLoopback(ip.version, ip.value) && !isGroupAddress(ip.version, ip.value);
}

function compareAddresses(a: string, b: string): number {
  const x = parseIP(a);
  const y = parseIP(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.version !== y.version) return x.version - y.version;
  return x.value < y.value ? -1 : x.value > y.value ? 1 : 0;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Collects evidence flow by flow (from `analyzeCaptures`'s onFlow, or any judged flows). */
export class InferenceCollector {
  private readonly clues = new Map<string, Map<string, Clue>>();
  private readonly seen = new Set<string>();

  add(flow: JudgedFlow): void {
    const client = flow.client.ip;
    const server = flow.server.ip;
    const cUsable = usable(client);
    const sUsable = usable(server);
    if (cUsable) this.seen.add(client);
    if (sUsable) this.seen.add(server);
    if (!cUsable || !sUsable || client === server) return;
    const port = flow.server.port;
    const alpn = [...(flow.tls?.alpn ?? []), ...(flow.tls?.alpnSelected === undefined ? [] : [flow.tls.alpnSelected])];

    if (flow.transport === 'tcp' && port === GRPC_PORT) {
      const failed = isFailedAttempt(flow.state);
      let strength: Strength;
      let kind: string;
      if (failed) {
        strength = 1;
        kind = 'connection attempt (refused or unanswered) on 50051';
      } else if (flow.service === 'tls' && flow.serviceBy === 'payload') {
        strength = alpn.includes('h2') ? 3 : 2;
        kind = 'TLS on 50051';
      } else if (flow.service === 'h2c' && flow.serviceBy === 'payload') {
        strength = 2;
        kind = 'plaintext gRPC (h2c) on 50051';
      } else if (flow.serviceBy === 'payload') {
        return; // another protocol on 50051: no evidence of gRPC
      } else {
        strength = 1;
        kind = 'TCP connection without payload on 50051';
      }
      this.clue(server, 'researcher', `server of ${kind}`, strength, client, alpn);
      this.clue(client, 'node', `client of ${kind}`, strength, server, alpn);
      return;
    }
    if (flow.transport === 'udp' && port === WIREGUARD_PORT) {
      let strength: Strength;
      let kind: string;
      if (flow.service === 'wireguard' && flow.serviceBy === 'payload') {
        const answered = flow.server.packets > 0 && (flow.wireguard ?? []).some((t) => t === 2 || t === 4);
        strength = answered ? 3 : 2;
        kind = answered ? 'WireGuard on UDP/51820' : 'WireGuard on UDP/51820 (no answer)';
      } else if (flow.service === 'unknown' && flow.server.packets === 0) {
        strength = 1;
        kind = 'unanswered datagrams on UDP/51820';
      } else {
        return;
      }
      this.clue(server, 'vpnserver', `server of ${kind}`, strength, client, []);
      this.clue(client, 'component', `client of ${kind}`, strength, server, []);
      return;
    }
    if (flow.transport === 'tcp' && port >= SECAGG_PORTS.lo && port <= SECAGG_PORTS.hi && !isFailedAttempt(flow.state)) {
      if (flow.service === 'http' || flow.service === 'h2c') return; // not MP-SPDZ
      this.clue(server, 'component', `server of secagg on ${port}`, 2, client, []);
      this.clue(client, 'component', `client of secagg on ${port}`, 2, server, []);
      return;
    }
    if (flow.transport === 'tcp' && (port === MQTT_PORT || port === RESTFUL_PORT) && !isFailedAttempt(flow.state)) {
      let kind: string;
      let strength: Strength;
      let legacy: LegacyService;
      if (port === MQTT_PORT) {
        // No MQTT signature in the classifier: the port, bytes both ways, and no other protocol.
        if (flow.service !== 'unknown' || !flow.history.includes('D') || !flow.history.includes('d')) return;
        kind = 'TCP/1883 with data both ways (MQTT port, payload not checked)';
        strength = 1;
        legacy = 'MQTT broker';
      } else {
        if (flow.service !== 'http' || flow.serviceBy !== 'payload') return;
        kind = 'HTTP on 8844 (restful service)';
        strength = 2;
        legacy = 'restful service';
      }
      this.clue(server, 'researcher', `server of ${kind}`, strength, client, [], false, legacy);
      this.clue(client, 'component', `client of ${kind}`, strength, server, [], false, legacy);
      return;
    }
    if (flow.transport === 'tcp' && (NODE_GUI_PORTS as readonly number[]).includes(port) && !isFailedAttempt(flow.state)) {
      this.clue(server, 'node', `server on ${port} (node GUI port)`, 1, client, [], true);
    }
  }

  private clue(
    address: string,
    role: Clue['role'],
    what: string,
    strength: Strength,
    peer: string,
    alpn: string[],
    supportOnly = false,
    legacy?: LegacyService,
  ): void {
    let byKind = this.clues.get(address);
    if (!byKind) {
      byKind = new Map();
      this.clues.set(address, byKind);
    }
    const key = `${role}|${what}`;
    let c = byKind.get(key);
    if (!c) {
      c = { role, what, strength, peers: new Set(), flows: 0, alpn: new Set(), supportOnly };
      if (legacy !== undefined) c.legacy = legacy;
      byKind.set(key, c);
    }
    c.strength = Math.max(c.strength, strength) as Strength;
    c.peers.add(peer);
    c.flows++;
    for (const a of alpn) c.alpn.add(a);
  }

  /** The proposal from everything added so far. */
  result(): Inference {
    const ambiguities: Ambiguity[] = [];
    const decided: { address: string; role: ComponentRole; confidence: Strength; evidence: string[] }[] = [];
    const componentOnly: { address: string; clues: Clue[] }[] = [];

    for (const address of [...this.clues.keys()].sort(compareAddresses)) {
      const clues = [...(this.clues.get(address) as Map<string, Clue>).values()].sort((a, b) => b.strength - a.strength || a.what.localeCompare(b.what));
      const best = new Map<ComponentRole, Strength>();
      for (const c of clues) {
        if (c.role === 'component' || c.supportOnly) continue;
        best.set(c.role, Math.max(best.get(c.role) ?? 0, c.strength) as Strength);
      }
      const roles = ROLE_ORDER.filter((r) => best.has(r)).sort((a, b) => (best.get(b) ?? 0) - (best.get(a) ?? 0));
      const evidence = clues.map(describeClue);
      // Only the pre-5.0 services say "researcher", and the address is also their client: the
      // broker's own machine reaches it locally, a node does not serve it. Neither is proposed.
      const legacyServer = clues.filter((c) => c.legacy !== undefined && c.role === 'researcher');
      if (
        roles.length === 1 &&
        roles[0] === 'researcher' &&
        clues.every((c) => c.role !== 'researcher' || c.legacy !== undefined) &&
        clues.some((c) => c.legacy !== undefined && c.role === 'component')
      ) {
        const served = [...new Set(legacyServer.map((c) => c.legacy))].join(' and ');
        ambiguities.push({
          address,
          roles: ['researcher', 'component'],
          message: `${address}: serves as ${served} and is a client of another (${evidence.join('; ')}); not proposed, decide and add it by hand`,
        });
        continue;
      }
      if (roles.length === 0) {
        // Component evidence only (WireGuard client, secagg peer), or only supporting evidence.
        componentOnly.push({ address, clues });
        continue;
      }
      const top = roles[0] as ComponentRole;
      const topStrength = best.get(top) as Strength;
      if (roles.length > 1) {
        const second = roles[1] as ComponentRole;
        const secondStrength = best.get(second) as Strength;
        if (secondStrength >= 2 || secondStrength >= topStrength) {
          ambiguities.push({
            address,
            roles,
            message: `${address}: evidence for ${roles.join(' and ')} (${evidence.join('; ')}); not proposed, decide and add it by hand`,
          });
          continue;
        }
        // Weak evidence against strong: the strong one wins, with less confidence, and it is said.
        ambiguities.push({
          address,
          roles,
          message: `${address}: proposed as ${top}, but weak evidence says ${second} (${clues.filter((c) => c.role === second).map(describeClue).join('; ')}); check it`,
        });
        decided.push({ address, role: top, confidence: Math.max(1, topStrength - 1) as Strength, evidence });
        continue;
      }
      // The role's evidence, plus consistent component evidence (a node that also runs secagg...).
      let confidence = topStrength;
      const supporting = clues.some((c) => c.role === 'component' || (c.supportOnly && c.role === top));
      if (supporting && confidence < 3 && top !== 'vpnserver') confidence = (confidence + 1) as Strength;
      const against = clues.filter((c) => c.role !== 'component' && c.role !== top);
      if (against.length > 0) {
        confidence = Math.max(1, confidence - 1) as Strength;
        ambiguities.push({ address, roles: [top, ...against.map((c) => c.role)], message: `${address}: proposed as ${top}, but ${against.map(describeClue).join('; ')}; check it` });
      }
      if (top === 'vpnserver' && clues.some((c) => c.role === 'component')) {
        confidence = Math.max(1, confidence - 1) as Strength;
        ambiguities.push({ address, roles: ['vpnserver', 'component'], message: `${address}: proposed as vpnserver, but it is also a client of component traffic; check it` });
      }
      decided.push({ address, role: top, confidence, evidence });
    }

    // A secagg peer with no other evidence is a node when the researcher is known otherwise (a
    // federation has one researcher): proposed with low confidence, and said.
    const researchers = decided.filter((d) => d.role === 'researcher');
    const knownResearcher = researchers.length > 0 && researchers.every((r) => r.confidence >= 2);
    const researcherSet = new Set(researchers.map((r) => r.address));
    for (const { address, clues } of componentOnly) {
      const evidence = clues.map(describeClue);
      const secagg = clues.filter((c) => c.role === 'component' && c.what.includes('secagg'));
      const legacy = clues.filter((c) => c.role === 'component' && c.legacy !== undefined);
      const wg = clues.some((c) => c.role === 'component' && c.what.includes('WireGuard'));
      const guiOnly = clues.every((c) => c.supportOnly);
      if (guiOnly) {
        ambiguities.push({ address, roles: ['node'], message: `${address}: ${evidence.join('; ')}: maybe a node; not proposed` });
        continue;
      }
      if ((secagg.length > 0 || legacy.length > 0) && !wg && knownResearcher) {
        const peersOf = (cs: Clue[]): string => [...new Set(cs.flatMap((c) => [...c.peers]))].sort(compareAddresses).join(', ');
        const what: string[] = [];
        if (secagg.length > 0) what.push(`a secagg peer (of ${peersOf(secagg)})`);
        if (legacy.length > 0) what.push(`a client of the ${[...new Set(legacy.map((c) => c.legacy))].join(' and ')} (of ${peersOf(legacy)})`);
        const names = [...researcherSet].join(', ');
        decided.push({ address, role: 'node', confidence: 1, evidence: [...evidence, `not the researcher (${names} is): a node`] });
        ambiguities.push({
          address,
          roles: ['component'],
          message: `${address}: ${what.join(' and ')} with no gRPC evidence; proposed as node because the researcher is ${names}; check it`,
        });
        continue;
      }
      const hint = wg ? ' (its gRPC traffic is inside the tunnel: capture the WireGuard interface, or give its role by hand)' : '';
      ambiguities.push({ address, roles: ['component'], message: `${address}: a component, node or researcher (${evidence.join('; ')}); not proposed${hint}` });
    }

    decided.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || compareAddresses(a.address, b.address));
    const counts = new Map<ComponentRole, number>();
    for (const d of decided) counts.set(d.role, (counts.get(d.role) ?? 0) + 1);
    const index = new Map<ComponentRole, number>();
    const hosts: InferredHost[] = decided.map((d) => {
      const i = (index.get(d.role) ?? 0) + 1;
      index.set(d.role, i);
      const name = d.role === 'node' ? `node${i}` : i === 1 ? d.role : `${d.role}${i}`;
      return { name, role: d.role, addresses: [d.address], confidence: CONFIDENCE[d.confidence], evidence: d.evidence };
    });
    const known = new Set([...this.clues.keys()]);
    const others = [...this.seen].filter((a) => !known.has(a)).sort(compareAddresses);
    return { hosts, ambiguities, others };
  }
}

function describeClue(c: Clue): string {
  const peers = [...c.peers].sort(compareAddresses);
  const shown = peers.length <= 4 ? peers.join(', ') : `${peers.slice(0, 4).join(', ')}, ...`;
  const side = c.what.startsWith('server') ? 'clients' : 'servers';
  const side1 = c.what.startsWith('server') ? 'client' : 'server';
  let text = `${c.what} (${plural(c.flows, 'flow')}) for ${peers.length === 1 ? side1 : `${peers.length} ${side}`} ${shown}`;
  if (c.alpn.size > 0) text += `, ALPN ${[...c.alpn].sort().join(',')}`;
  if (c.role === 'component') text += ' (a component: node or researcher)';
  return text;
}

/** A rule set whose ports cover every service the inference looks at (for mid-stream pickups). */
export function inferenceRules(): RuleSet {
  const native = loadRuleSet('native');
  const vpn = loadRuleSet('vpn', 'install');
  const legacy = loadRuleSet('legacy-mqtt');
  return { ...native, rows: [...native.rows, ...vpn.rows, ...legacy.rows] };
}

export interface InferOptions {
  files: string[];
  onWarning?: (message: string) => void;
}

/** Reads the captures (one run, like `analyze`) and infers. Capture errors propagate. */
export function inferFromCaptures(opts: InferOptions): { inference: Inference; analysis: AnalysisResult } {
  const collector = new InferenceCollector();
  const analysis = analyzeCaptures({
    files: opts.files,
    rules: inferenceRules(),
    inventory: { hosts: [], tunnel: [] },
    onFlow: (f) => collector.add(f),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  return { inference: collector.result(), analysis };
}

/** Text for a YAML comment: one line, no control characters. */
function commentText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function yamlAddress(a: string): string {
  return a.includes(':') ? `"${a}"` : a;
}

/** The proposal as a `--hosts` file (same shape as captures/lab.hosts.yaml), commented. */
export function proposalYaml(inference: Inference, files: string[]): string {
  const out: string[] = [];
  out.push('# Inventory proposed by `netmatrix infer` from traffic alone: check and edit it before use.');
  out.push(`# captures: ${commentText(files.join(' '))}`);
  out.push('# One host per address: merge the addresses of one machine (e.g. underlay and tunnel) by hand.');
  out.push('# The tunnel network is not inferred: add `tunnel: [CIDR]` for the VPN matrix.');
  if (inference.hosts.length === 0) {
    out.push('# no host could be inferred: fill the list by hand');
    out.push('hosts: []');
  } else {
    out.push('hosts:');
    for (const h of inference.hosts) {
      const [first, ...rest] = h.evidence;
      out.push(`  # ${commentText(`${h.name}: ${first ?? 'no evidence'} (confidence ${h.confidence})`)}`);
      for (const e of rest) out.push(`  #   also ${commentText(e)}`);
      out.push(`  - name: ${h.name}`);
      out.push(`    role: ${h.role}`);
      out.push(`    addresses: [${h.addresses.map(yamlAddress).join(', ')}]`);
    }
  }
  out.push('# tunnel: [CIDR]   # the VPN inner network, if any: uncomment and fill in');
  out.push('# ambiguities:');
  if (inference.ambiguities.length === 0) out.push('#   none');
  for (const a of inference.ambiguities) out.push(`#   ${commentText(a.message)}`);
  if (inference.others.length > 0) out.push(`# other addresses seen (no component evidence): ${inference.others.join(', ')}`);
  return `${out.join('\n')}\n`;
}
