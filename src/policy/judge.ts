/**
 * Judgement: a flow, the matrix and the inventory give a verdict with findings (stable codes, like
 * zod issues: tests compare codes, not prose). Capture-level findings (mandatory rows never seen) come
 * from `captureFindings()` once every flow has been judged.
 */
import type { ClassifiedFlow, HttpEvidence, TlsEvidence } from '../classify/classify.js';
import type { EndReason } from '../flow/flow.js';
import { connState } from '../flow/flow.js';
import { isFailedAttempt, isOpen, type ConnState } from '../flow/tcp-state.js';
import { RoleResolver, sameMachine, type EndpointInfo, type Inventory } from './inventory.js';
import type { RuleSet } from './load.js';
import { COMPONENT_ROLES, type FlowService, type FlowTransport, type Role, type Service, type Transport } from '../model/vocabulary.js';
import { PORT_ONLY_SERVICES, formatPorts, portsContain, type MatrixRow } from './schema.js';

export const FINDING_CODES = [
  'inbound-to-node',
  'secagg-not-closed',
  'gui-not-localhost',
  'protocol-mismatch',
  'not-in-matrix',
  'outside-tunnel',
  'connection-failed',
  'mandatory-missing',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];
export type Severity = 'violation' | 'warning';

export const SEVERITY: Record<FindingCode, Severity> = {
  'inbound-to-node': 'violation',
  'secagg-not-closed': 'violation',
  'gui-not-localhost': 'violation',
  'protocol-mismatch': 'violation',
  'not-in-matrix': 'violation',
  'outside-tunnel': 'violation',
  'connection-failed': 'warning',
  'mandatory-missing': 'warning',
};

export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
}

export interface CaptureFinding extends Finding {
  /** The matrix row the finding is about. */
  rule: string;
}

/** allowed: a row allows it; local: same machine, no row needed; out-of-scope: not the matrix's business. */
export type Verdict = 'allowed' | 'violation' | 'warning' | 'local' | 'out-of-scope';

export interface JudgedEndpoint {
  ip: string;
  port: number;
  role: Role;
  /** Inventory host name, when the address belongs to one. */
  host?: string | undefined;
  packets: number;
  bytes: number;
}

export interface JudgedFlow {
  id: number;
  /** As Zeek's conn.log `proto`: tcp, udp, icmp (v4 and v6), unknown_transport. */
  transport: FlowTransport;
  /** The IP protocol number (Zeek's `ip_proto`): 6, 17, 1 (ICMP), 58 (ICMPv6), 89 (OSPF), ... */
  ipProto: number;
  /** For ICMP the ports are Zeek's: the client's is the ICMP type, the server's the counterpart type or the code. */
  client: JudgedEndpoint;
  server: JudgedEndpoint;
  service: FlowService;
  /** `zeek`: Zeek's analyzers named it (flow records, see engine/records.ts). */
  serviceBy: 'payload' | 'port' | 'none' | 'zeek';
  tls?: TlsEvidence | undefined;
  http?: HttpEvidence | undefined;
  wireguard?: number[] | undefined;
  state: ConnState;
  history: string;
  packets: number;
  bytes: number;
  start: number;
  end: number;
  /** The flow was inside the VPN's inner network. */
  tunnel: boolean;
  /** The encapsulations its packets came through, outermost first (Packet.encapsulation); undefined for a plain flow. */
  encapsulation?: readonly string[] | undefined;
  /** Why the flow left the table. */
  endReason: EndReason;
  rule: string | null;
  /**
   * The rows the flow counts for: its own row; for a violation no row allows, the rows serving its
   * transport and port toward its server's role on its layer (what it tried to reach); none otherwise.
   * The HTML report marks these rows seen or violated. Not part of the JSON record.
   */
  targets: readonly string[];
  /**
   * For out-of-scope flows, why (host service row id, "multicast", "unrelated"; "icmp", or
   * "ip-proto-N" for another IP protocol: the matrix speaks of TCP and UDP only).
   */
  scope?: string | undefined;
  verdict: Verdict;
  findings: Finding[];
}

export function finding(code: FindingCode, message: string): Finding {
  return { code, severity: SEVERITY[code], message };
}

/** A must-close session found still open past the secagg timeout, as judged at that moment. */
export interface OverdueSession {
  flow: JudgedFlow;
  /** The secagg-not-closed finding (also the last of `flow.findings`). */
  finding: Finding;
}

/**
 * What a flow record (Zeek's conn.log, NetFlow) says instead of packets: its conn_state, whether the
 * connection was still open when the record was written, and who named its service.
 */
export interface RecordFacts {
  state: ConnState;
  open: boolean;
  /** The service in the classifier's result came from Zeek's analyzers. */
  serviceBy: 'zeek' | undefined;
}

/** Shared by every flow that targets no row: the array is never written. */
const NO_ROWS: readonly string[] = Object.freeze([]);

const STATE_WORDS: Partial<Record<ConnState, string>> = {
  S0: 'unanswered (S0)',
  REJ: 'refused (REJ)',
  RSTOS0: 'abandoned by the client before any answer (RSTOS0)',
  SH: 'half-open: the client closed before any answer (SH)',
};

function describeRow(row: MatrixRow): string {
  return `${row.from.join('+')} -> ${row.to.join('+')} ${row.transport.join('/').toUpperCase()}/${formatPorts(row.ports)} ${row.service[0] ?? ''}`;
}

export class Judge {
  private readonly roles: RoleResolver;
  private readonly componentRoles = new Set<Role>(COMPONENT_ROLES);
  private readonly hasTunnelRows: boolean;
  private readonly guiRows: MatrixRow[];
  /** Rows seen working (matched by an established flow). */
  private readonly rowsSeen = new Set<string>();
  /** Component roles seen as clients per layer ("underlay" / "tunnel"). */
  private readonly clientRolesSeen = { underlay: new Set<Role>(), tunnel: new Set<Role>() };
  /** Port table of the matrix and its host services (for mid-stream pickups and UDP). */
  private readonly servicePorts: Record<'tcp' | 'udp', { lo: number; hi: number }[]>;
  /** Each row's `targets` (its own id), built once so judging a flow allocates no array for it. */
  private readonly ownTargets = new Map<MatrixRow, readonly string[]>();
  /** Ids of the rows whose sessions must close (secagg). */
  private readonly mustCloseRows: ReadonlySet<string>;

  /**
   * `secaggTimeout`: seconds a must-close (secagg) session may last; longer is secagg-not-closed even
   * when it closed later. Undefined: only sessions still open at the end are.
   */
  constructor(
    readonly rules: RuleSet,
    readonly inventory: Inventory,
    readonly secaggTimeout?: number,
  ) {
    this.roles = new RoleResolver(inventory);
    this.hasTunnelRows = rules.rows.some((r) => r.via === 'tunnel');
    this.guiRows = rules.rows.filter((r) => r.localOnly);
    this.servicePorts = { tcp: [], udp: [] };
    // The host services' ports too (rules/host-services.yaml): a DNS reply or a DHCP server's answer
    // seen without its request still has its server on 53 or 67, as Zeek's likely_server_ports say.
    for (const row of [...rules.rows, ...rules.outOfScope]) for (const t of row.transport) this.servicePorts[t].push(...row.ports);
    for (const row of rules.rows) this.ownTargets.set(row, Object.freeze([row.id]));
    this.mustCloseRows = new Set(rules.rows.filter((r) => r.mustClose).map((r) => r.id));
  }

  /** Ports the matrix and its host services serve on: decide the server side of a flow picked up mid-stream. */
  isServicePort = (transport: 'tcp' | 'udp', port: number): boolean => portsContain(this.servicePorts[transport], port);

  /** The final judgement of a flow that has ended; counts it for the capture-level findings. */
  judge(flow: ClassifiedFlow): JudgedFlow {
    return this.evaluate(flow, true, undefined);
  }

  /**
   * The final judgement of a flow built from a record (engine/records.ts): its state and openness
   * come from the record, not from TCP endpoints it never had.
   */
  judgeRecord(flow: ClassifiedFlow, facts: RecordFacts): JudgedFlow {
    return this.evaluate(flow, true, facts);
  }

  /**
   * The judgement so far of a flow still going on (live monitoring): only what its packets already
   * prove (who initiated toward whom, which row, the payload seen). Nothing is counted.
   */
  provisional(flow: ClassifiedFlow): JudgedFlow {
    return this.evaluate(flow, false, undefined);
  }

  /** The flow's row requires its sessions to close (secagg): live, its timer is watched. */
  mustClose(judged: JudgedFlow): boolean {
    return judged.rule !== null && this.mustCloseRows.has(judged.rule);
  }

  /**
   * Live: a must-close (secagg) TCP session still open `secaggTimeout` seconds after it started is
   * a violation before it ends. Its judgement so far, as of `now`, with the secagg-not-closed finding;
   * undefined when there is no timeout, the session is within it or closed, or its row need not close.
   * Nothing is counted (as `provisional`).
   */
  overdue(flow: ClassifiedFlow, now: number): OverdueSession | undefined {
    const timeout = this.secaggTimeout;
    if (timeout === undefined || flow.transport !== 'tcp' || now - flow.start < timeout || !isOpen(flow.tcp)) return undefined;
    const judged = this.evaluate(flow, false, undefined);
    const rule = judged.rule;
    if (rule === null || !this.mustCloseRows.has(rule)) return undefined;
    const f = finding(
      'secagg-not-closed',
      `secagg session (${rule}) ${flow.client.ip} -> ${flow.server.ip}:${flow.server.port} still open after ${Math.round(now - flow.start)} s (--secagg-timeout ${timeout}); it must close once negotiation completes`,
    );
    judged.findings.push(f);
    judged.verdict = 'violation';
    judged.end = now;
    return { flow: judged, finding: f };
  }

  private evaluate(flow: ClassifiedFlow, final: boolean, facts: RecordFacts | undefined): JudgedFlow {
    const transport = flow.transport;
    if (transport !== 'tcp' && transport !== 'udp') return this.untracked(flow, transport, facts);
    const client = this.roles.resolve(flow.client.ip);
    const server = this.roles.resolve(flow.server.ip);
    const local = sameMachine(flow.client.ip, flow.server.ip, client, server);
    const tunnel = client.tunnel && server.tunnel;
    const layer = tunnel ? 'tunnel' : 'underlay';
    const state = facts ? facts.state : connState(flow);
    const clientRole: Role = local ? 'localhost' : client.role;
    const serverRole: Role = server.role;
    const port = flow.server.port;

    const row = local
      ? this.rules.rows.find(
          (r) =>
            r.localOnly &&
            r.transport.includes(transport) &&
            portsContain(r.ports, port) &&
            (serverRole === 'localhost' || r.to.includes(serverRole)),
        )
      : this.rules.rows.find(
          (r) =>
            !r.localOnly &&
            r.via === layer &&
            r.transport.includes(transport) &&
            portsContain(r.ports, port) &&
            r.from.includes(clientRole) &&
            r.to.includes(serverRole),
        );

    const { service, serviceBy } = this.service(flow, transport, row, facts?.serviceBy);
    const findings: Finding[] = [];
    const failed = transport === 'tcp' ? isFailedAttempt(state) : flow.resp.packets === 0;
    let scope: string | undefined;

    if (!local) {
      if (final && this.componentRoles.has(clientRole)) this.clientRolesSeen[layer].add(clientRole);
      const gui = this.componentRoles.has(serverRole)
        ? this.guiRows.find((r) => r.transport.includes(transport) && portsContain(r.ports, port))
        : undefined;
      if (serverRole === 'node' && (!row || row.localOnly)) {
        const how = STATE_WORDS[state];
        findings.push(
          finding(
            'inbound-to-node',
            `${flow.client.ip} (${clientRole}) initiated ${transport.toUpperCase()}/${port} toward node ${flow.server.ip}${how ? `, ${how}` : ''}: nothing enters a node except secagg key negotiation`,
          ),
        );
      }
      if (gui) {
        findings.push(
          finding(
            'gui-not-localhost',
            `${gui.comment ?? gui.id} port ${port} of ${serverRole} ${flow.server.ip} reached from ${clientRole} ${flow.client.ip}; GUIs must accept only localhost`,
          ),
        );
      }
      if (!row && findings.length === 0) {
        scope = this.outOfScope(flow, transport, client, server, clientRole, serverRole);
        if (scope === undefined) {
          if (this.hasTunnelRows && !tunnel && this.componentRoles.has(clientRole)) {
            findings.push(
              finding(
                'outside-tunnel',
                `${clientRole} ${flow.client.ip} -> ${serverRole} ${flow.server.ip} ${transport.toUpperCase()}/${port} outside the WireGuard tunnel: with the VPN, components talk only WireGuard to the vpnserver`,
              ),
            );
          } else {
            findings.push(
              finding(
                'not-in-matrix',
                `no row of matrix ${this.rules.name} allows ${clientRole} -> ${serverRole} ${transport.toUpperCase()}/${port}${tunnel ? ' inside the tunnel' : ''}`,
              ),
            );
          }
        }
      }
    }

    if (row && !row.localOnly) {
      const mismatch = this.mismatch(flow, row);
      if (mismatch) findings.push(finding('protocol-mismatch', mismatch));
      // A refused or unanswered attempt; a wrong protocol that got no answer is already the mismatch.
      if (!final) {
        // Failure, success and closing are only known at the end.
      } else if (failed && !mismatch) {
        const how =
          transport === 'tcp' ? (STATE_WORDS[state] ?? state) : `unanswered: ${flow.orig.packets} datagram(s), no reply`;
        findings.push(finding('connection-failed', `allowed connection (${row.id}) to ${flow.server.ip}:${port} ${how}`));
      } else if (!mismatch) {
        this.rowsSeen.add(row.id);
      }
      const lasted = flow.end - flow.start;
      const tooLong = this.secaggTimeout !== undefined && lasted > this.secaggTimeout;
      const open = facts ? facts.open : isOpen(flow.tcp);
      if (final && row.mustClose && transport === 'tcp' && (open || tooLong)) {
        const when = !open
          ? `stayed open ${lasted.toFixed(1)} s, longer than the secagg timeout (${this.secaggTimeout ?? 0} s)`
          : flow.endReason === 'idle'
            ? 'went idle without being closed'
            : flow.endReason === 'evicted'
              ? 'was still open when the flow table evicted it'
              : 'was still open when the capture ended';
        findings.push(
          finding('secagg-not-closed', `secagg session (${row.id}) ${flow.client.ip} -> ${flow.server.ip}:${port} ${when}; it must close once negotiation completes`),
        );
      }
    } else if (row && local && final) {
      this.rowsSeen.add(row.id);
    }

    let verdict: Verdict;
    if (findings.some((f) => f.severity === 'violation')) verdict = 'violation';
    else if (findings.length > 0) verdict = 'warning';
    else if (row) verdict = 'allowed';
    else if (local) verdict = 'local';
    else verdict = 'out-of-scope';
    const shownServerRole: Role = local && serverRole === 'internet' ? 'localhost' : serverRole;
    const targets = row
      ? (this.ownTargets.get(row) ?? NO_ROWS)
      : verdict === 'violation'
        ? this.targetedRows(transport, port, shownServerRole, layer)
        : NO_ROWS;

    // Every key is always there (undefined when it does not apply): one object shape for all flows,
    // so the report's accessors stay monomorphic. Optional keys added on demand would give flows half
    // a dozen shapes, and the JSON report's per-flow cost would grow several times over.
    const payload = flow.classifier.result;
    const judged: JudgedFlow = {
      id: flow.id,
      transport,
      ipProto: flow.keyProto,
      client: endpoint(flow.client.ip, flow.client.port, clientRole, client, flow.orig),
      server: endpoint(flow.server.ip, flow.server.port, shownServerRole, server, flow.resp),
      service,
      serviceBy,
      tls: payload.tls,
      http: payload.http,
      wireguard: payload.wireguard ? [...payload.wireguard].sort() : undefined,
      state,
      history: flow.history,
      packets: flow.orig.packets + flow.resp.packets,
      bytes: flow.orig.bytes + flow.resp.bytes,
      start: flow.start,
      end: flow.end,
      tunnel,
      encapsulation: flow.encapsulation,
      endReason: flow.endReason ?? 'capture-end',
      rule: row ? row.id : null,
      targets,
      scope,
      verdict,
      findings,
    };
    return judged;
  }

  /**
   * An ICMP or other-protocol connection: the matrix lists TCP and UDP rows only, so it is out of
   * scope (scope "icmp" or "ip-proto-N"), with no finding, live or at the end, and it counts for no
   * row and no capture-level finding. Its ends still get their roles, for the reports.
   */
  private untracked(flow: ClassifiedFlow, transport: 'icmp' | 'unknown_transport', facts: RecordFacts | undefined): JudgedFlow {
    const client = this.roles.resolve(flow.client.ip);
    const server = this.roles.resolve(flow.server.ip);
    const local = sameMachine(flow.client.ip, flow.server.ip, client, server);
    const icmp = transport === 'icmp';
    return {
      id: flow.id,
      transport,
      ipProto: flow.keyProto,
      client: endpoint(flow.client.ip, flow.client.port, local ? 'localhost' : client.role, client, flow.orig),
      server: endpoint(flow.server.ip, flow.server.port, local && server.role === 'internet' ? 'localhost' : server.role, server, flow.resp),
      service: icmp ? 'icmp' : 'unknown',
      serviceBy: 'none',
      tls: undefined,
      http: undefined,
      wireguard: undefined,
      state: facts ? facts.state : connState(flow),
      history: flow.history,
      packets: flow.orig.packets + flow.resp.packets,
      bytes: flow.orig.bytes + flow.resp.bytes,
      start: flow.start,
      end: flow.end,
      tunnel: client.tunnel && server.tunnel,
      encapsulation: flow.encapsulation,
      endReason: flow.endReason ?? 'capture-end',
      rule: null,
      targets: NO_ROWS,
      scope: icmp ? 'icmp' : `ip-proto-${flow.keyProto}`,
      verdict: 'out-of-scope',
      findings: [],
    };
  }

  /**
   * The rows a violating flow without a row tried to reach: same transport, port, server role and
   * layer, whoever the client was.
   */
  private targetedRows(transport: Transport, port: number, serverRole: Role, layer: 'underlay' | 'tunnel'): readonly string[] {
    let ids: string[] | undefined;
    for (const r of this.rules.rows) {
      if (r.transport.includes(transport) && portsContain(r.ports, port) && r.to.includes(serverRole) && r.via === layer) (ids ??= []).push(r.id);
    }
    return ids ?? NO_ROWS;
  }

  /** Payload first; the matrix's port only when the payload says nothing (or the service has no signature). */
  private service(
    flow: ClassifiedFlow,
    transport: Transport,
    row: MatrixRow | undefined,
    by: 'zeek' | undefined,
  ): { service: Service; serviceBy: JudgedFlow['serviceBy'] } {
    const fromPayload = flow.classifier.result.service;
    if (fromPayload !== undefined && fromPayload !== 'unknown') return { service: fromPayload, serviceBy: by ?? 'payload' };
    const byPort = row ?? this.rules.rows.find((r) => r.transport.includes(transport) && portsContain(r.ports, flow.server.port));
    const portService = byPort?.service[0];
    if (fromPayload === 'unknown') {
      if (portService !== undefined && PORT_ONLY_SERVICES.has(portService)) return { service: portService, serviceBy: 'port' };
      return { service: 'unknown', serviceBy: 'none' };
    }
    if (portService !== undefined) return { service: portService, serviceBy: 'port' };
    return { service: 'unknown', serviceBy: 'none' };
  }

  /** Why the payload contradicts the row, or undefined. A flow with no payload never does. */
  private mismatch(flow: ClassifiedFlow, row: MatrixRow): string | undefined {
    const payload = flow.classifier.result;
    const seen = payload.service;
    const expected = row.service.join(' or ');
    if (seen === undefined) return undefined;
    if (seen === 'unknown') {
      if (row.service.some((s) => PORT_ONLY_SERVICES.has(s) || s === 'unknown')) return undefined;
      // Picked up mid-stream, the first bytes may sit inside a record: not enough to contradict.
      if (flow.pickup) return undefined;
      return `the client's payload is not ${expected}, which row ${row.id} expects (${describeRow(row)})`;
    }
    if (!row.service.includes(seen)) return `payload is ${seen} but row ${row.id} expects ${expected} (${describeRow(row)})`;
    if (seen === 'tls' && row.alpn && payload.tls && payload.tls.alpn.length > 0) {
      const offered = payload.tls.alpn;
      if (!offered.some((a) => row.alpn?.includes(a))) {
        return `TLS client offered ALPN ${JSON.stringify(offered)} but row ${row.id} expects ${row.alpn.join(' or ')}`;
      }
    }
    if (seen === 'wireguard' && payload.anomalies > 0) {
      return `${payload.anomalies} datagram(s) of this WireGuard flow are not WireGuard messages`;
    }
    return undefined;
  }

  private outOfScope(
    flow: ClassifiedFlow,
    transport: Transport,
    client: EndpointInfo,
    server: EndpointInfo,
    clientRole: Role,
    serverRole: Role,
  ): string | undefined {
    if (server.group) return 'multicast';
    const hostService = this.rules.outOfScope.find(
      (r) => r.transport.includes(transport) && portsContain(r.ports, flow.server.port),
    );
    // Host services are what a component needs to run (DNS, NTP...): outbound from it only.
    if (hostService && (this.componentRoles.has(clientRole) || client.loopback)) return hostService.id;
    if (!this.componentRoles.has(clientRole) && !this.componentRoles.has(serverRole)) return 'unrelated';
    return undefined;
  }

  /** Mandatory rows of the current phase never seen working although their client role is in the capture. */
  captureFindings(): CaptureFinding[] {
    const out: CaptureFinding[] = [];
    for (const row of this.rules.rows) {
      if (row.status !== 'mandatory' || row.phase !== this.rules.phase || this.rowsSeen.has(row.id)) continue;
      const present = row.from.filter((r) => this.clientRolesSeen[row.via].has(r));
      if (present.length === 0) continue;
      out.push({
        code: 'mandatory-missing',
        severity: SEVERITY['mandatory-missing'],
        rule: row.id,
        message: `mandatory row ${row.id} (${describeRow(row)}) never seen working although a ${present.join('/')} is in the capture`,
      });
    }
    return out;
  }
}

function endpoint(
  ip: string,
  port: number,
  role: Role,
  info: EndpointInfo,
  stats: { packets: number; bytes: number },
): JudgedEndpoint {
  // `host` always present (undefined when the address is its own name): one shape, see judge().
  return { ip, port, role, packets: stats.packets, bytes: stats.bytes, host: info.host !== undefined && info.host !== ip ? info.host : undefined };
}
