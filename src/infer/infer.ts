/**
 * `netmatrix infer`: an inventory proposed from traffic alone. Every flow of the captures is judged
 * with an empty inventory (nobody is a component), and its endpoints collect evidence. The ports and
 * the roles of each kind of evidence are those of the shipped rule sets' rows (`inferenceRules`):
 *
 * - the server of gRPC (row node-researcher-grpc: TLS, or h2c) is a researcher, its clients are nodes;
 * - the server of WireGuard (rows *-vpnserver-wireguard) is a vpnserver; its clients are components
 *   (node or researcher: the tunnel hides which);
 * - the peers of secagg (rows secagg-node and secagg-researcher) are components;
 * - before 5.0 (rule set legacy-mqtt): the server of the MQTT broker (row mqtt-broker, by port only:
 *   weak) and of the restful service (row restful, HTTP) is a researcher (the broker's machine has
 *   that role there); their clients are components (nodes, or a researcher when the broker is
 *   elsewhere); an address that is both a server and a client of these is listed, not proposed;
 * - the server of the node GUI (rows node-gui and node-gui-https) is probably a node (supporting
 *   evidence only).
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
import { formatPorts, portsContain, type MatrixRow, type PortRange } from '../policy/schema.js';
import { COMPONENT_ROLES, type ComponentRole, type Role, type Transport } from '../model/vocabulary.js';

export type Confidence = 'high' | 'medium' | 'low';

/** Strength of one piece of evidence: 3 strong, 2 medium, 1 weak. */
type Strength = 1 | 2 | 3;

const CONFIDENCE: Record<Strength, Confidence> = { 3: 'high', 2: 'medium', 1: 'low' };

type LegacyService = 'MQTT broker' | 'restful service';

/** One service the inference looks for, as the rows that allow it define it. */
interface Served {
  transport: Transport[];
  ports: PortRange[];
  /** The ports as the evidence names them ("50051"). */
  label: string;
  /** The role of its servers; 'component' when the rows name several. */
  server: ComponentRole | 'component';
}

/** A service whose clients are components too (not a local-only GUI). */
interface Watched extends Served {
  client: ComponentRole | 'component';
}

/** The rows' one component role, or 'component' when they name several. */
function componentRole(roles: Role[], what: string): ComponentRole | 'component' {
  const distinct = [...new Set(roles)];
  const components = distinct.filter((r): r is ComponentRole => (COMPONENT_ROLES as readonly Role[]).includes(r));
  if (components.length === 0 || components.length !== distinct.length) {
    throw new Error(`infer: ${what} names ${distinct.join(', ')}; the inference reads component roles only`);
  }
  return components.length === 1 ? (components[0] as ComponentRole) : 'component';
}

/** The rows named `ids` (every row of that name in the rule set); each id must name one. */
function rowsNamed(rules: RuleSet, ids: string[]): MatrixRow[] {
  const rows = rules.rows.filter((r) => ids.includes(r.id));
  const missing = ids.filter((id) => !rows.some((r) => r.id === id));
  if (missing.length > 0) throw new Error(`infer: no row ${missing.join(', ')} in rule set ${rules.name}`);
  return rows;
}

/** The service the rows named `ids` allow, seen from its server's side. */
function served(rules: RuleSet, ids: string[]): Served {
  const rows = rowsNamed(rules, ids);
  const ports: PortRange[] = [];
  for (const r of rows) for (const p of r.ports) if (!ports.some((q) => q.lo === p.lo && q.hi === p.hi)) ports.push(p);
  return {
    transport: [...new Set(rows.flatMap((r) => r.transport))],
    ports,
    label: formatPorts(ports),
    server: componentRole(rows.flatMap((r) => r.to), `rows ${ids.join(', ')} (to)`),
  };
}

/** The service the rows named `ids` allow, both ends components. */
function watched(rules: RuleSet, ids: string[]): Watched {
  const client = componentRole(rowsNamed(rules, ids).flatMap((r) => r.from), `rows ${ids.join(', ')} (from)`);
  return { ...served(rules, ids), client };
}

/** ICMP and other protocols carry no row's service (add() has left them out already). */
const carries = (w: Served, flow: JudgedFlow): boolean =>
  (flow.transport === 'tcp' || flow.transport === 'udp') && w.transport.includes(flow.transport) && portsContain(w.ports, flow.server.port);

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
  private readonly grpc: Watched;
  private readonly wireguard: Watched;
  private readonly secagg: Watched;
  private readonly mqtt: Watched;
  private readonly restful: Watched;
  private readonly nodeGui: Served;

  /** `rules`: a rule set holding the rows the evidence is read from (`inferenceRules()`). */
  constructor(rules: RuleSet) {
    this.grpc = watched(rules, ['node-researcher-grpc']);
    this.wireguard = watched(rules, ['node-vpnserver-wireguard', 'researcher-vpnserver-wireguard']);
    this.secagg = watched(rules, ['secagg-node', 'secagg-researcher']);
    this.mqtt = watched(rules, ['mqtt-broker']);
    this.restful = watched(rules, ['restful']);
    this.nodeGui = served(rules, ['node-gui', 'node-gui-https']);
  }

  add(flow: JudgedFlow): void {
    // ICMP and other IP protocols say nothing about roles (the matrix has TCP and UDP rows only): they
    // are ignored, addresses included, so an inference is the same with or without them.
    if (flow.transport !== 'tcp' && flow.transport !== 'udp') return;
    const client = flow.client.ip;
    const server = flow.server.ip;
    const cUsable = usable(client);
    const sUsable = usable(server);
    if (cUsable) this.seen.add(client);
    if (sUsable) this.seen.add(server);
    if (!cUsable || !sUsable || client === server) return;
    const port = flow.server.port;
    const alpn = [...(flow.tls?.alpn ?? []), ...(flow.tls?.alpnSelected === undefined ? [] : [flow.tls.alpnSelected])];

    const grpc = this.grpc;
    if (carries(grpc, flow)) {
      const failed = isFailedAttempt(flow.state);
      let strength: Strength;
      let kind: string;
      if (failed) {
        strength = 1;
        kind = `connection attempt (refused or unanswered) on ${grpc.label}`;
      } else if (flow.service === 'tls' && flow.serviceBy === 'payload') {
        strength = alpn.includes('h2') ? 3 : 2;
        kind = `TLS on ${grpc.label}`;
      } else if (flow.service === 'h2c' && flow.serviceBy === 'payload') {
        strength = 2;
        kind = `plaintext gRPC (h2c) on ${grpc.label}`;
      } else if (flow.serviceBy === 'payload') {
        return; // another protocol on the gRPC port: no evidence of gRPC
      } else {
        strength = 1;
        kind = `TCP connection without payload on ${grpc.label}`;
      }
      this.clue(server, grpc.server, `server of ${kind}`, strength, client, alpn);
      this.clue(client, grpc.client, `client of ${kind}`, strength, server, alpn);
      return;
    }
    const wg = this.wireguard;
    if (carries(wg, flow)) {
      let strength: Strength;
      let kind: string;
      if (flow.service === 'wireguard' && flow.serviceBy === 'payload') {
        const answered = flow.server.packets > 0 && (flow.wireguard ?? []).some((t) => t === 2 || t === 4);
        strength = answered ? 3 : 2;
        kind = answered ? `WireGuard on UDP/${wg.label}` : `WireGuard on UDP/${wg.label} (no answer)`;
      } else if (flow.service === 'unknown' && flow.server.packets === 0) {
        strength = 1;
        kind = `unanswered datagrams on UDP/${wg.label}`;
      } else {
        return;
      }
      this.clue(server, wg.server, `server of ${kind}`, strength, client, []);
      this.clue(client, wg.client, `client of ${kind}`, strength, server, []);
      return;
    }
    const secagg = this.secagg;
    if (carries(secagg, flow) && !isFailedAttempt(flow.state)) {
      if (flow.service === 'http' || flow.service === 'h2c') return; // not MP-SPDZ
      this.clue(server, secagg.server, `server of secagg on ${port}`, 2, client, []);
      this.clue(client, secagg.client, `client of secagg on ${port}`, 2, server, []);
      return;
    }
    const mqtt = carries(this.mqtt, flow);
    if ((mqtt || carries(this.restful, flow)) && !isFailedAttempt(flow.state)) {
      let watchedService: Watched;
      let kind: string;
      let strength: Strength;
      let legacy: LegacyService;
      if (mqtt) {
        // No MQTT signature in the classifier: the port, bytes both ways, and no other protocol.
        if (flow.service !== 'unknown' || !flow.history.includes('D') || !flow.history.includes('d')) return;
        watchedService = this.mqtt;
        kind = `TCP/${watchedService.label} with data both ways (MQTT port, payload not checked)`;
        strength = 1;
        legacy = 'MQTT broker';
      } else {
        if (flow.service !== 'http' || flow.serviceBy !== 'payload') return;
        watchedService = this.restful;
        kind = `HTTP on ${watchedService.label} (restful service)`;
        strength = 2;
        legacy = 'restful service';
      }
      this.clue(server, watchedService.server, `server of ${kind}`, strength, client, [], false, legacy);
      this.clue(client, watchedService.client, `client of ${kind}`, strength, server, [], false, legacy);
      return;
    }
    if (carries(this.nodeGui, flow) && !isFailedAttempt(flow.state)) {
      this.clue(server, this.nodeGui.server, `server on ${port} (node GUI port)`, 1, client, [], true);
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

/**
 * The rows the inference reads its evidence from (native, vpn with the installation rows, and
 * legacy-mqtt together); judging with them also makes every port it looks at a service port (for
 * mid-stream pickups).
 */
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
  const rules = inferenceRules();
  const collector = new InferenceCollector(rules);
  const analysis = analyzeCaptures({
    files: opts.files,
    rules,
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
