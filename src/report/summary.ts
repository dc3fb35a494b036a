/**
 * What every output format shows: the run header, the flow groups and the run summary. One place
 * builds them so the table, JSON and JSONL agree (the per-flow JSON record is flowFields in json.ts).
 */
import type { AnalysisResult } from '../engine/analyze.js';
import type { Inventory } from '../policy/inventory.js';
import { FINDING_CODES, type CaptureFinding, type FindingCode, type JudgedFlow, type Verdict } from '../policy/judge.js';
import type { RuleSet } from '../policy/load.js';
import { isoTime } from './time.js';

export interface ReportHeader {
  matrix: { name: string; title: string; phase: string; files: string[] };
  inventory: { hosts: { name: string; role: string; addresses: string[] }[]; tunnel: string[] };
  files: string[];
  /** Flow records only (policy/limits.ts): the checks this evidence cannot make; absent for captures. */
  evidence?: string[];
}

export function reportHeader(rules: RuleSet, inventory: Inventory, files: string[], evidence?: string[]): ReportHeader {
  const header: ReportHeader = {
    matrix: { name: rules.name, title: rules.title, phase: rules.phase, files: rules.files },
    inventory: {
      hosts: inventory.hosts.map((h) => ({ name: h.name, role: h.role, addresses: h.cidrs.map((c) => c.text) })),
      tunnel: inventory.tunnel.map((c) => c.text),
    },
    files,
  };
  if (evidence) header.evidence = evidence;
  return header;
}

export interface RunSummary {
  complete: boolean;
  frames: number;
  flows: number;
  verdicts: Record<Verdict, number>;
  findings: Partial<Record<FindingCode, number>>;
  violations: number;
  warnings: number;
  start: string | null;
  end: string | null;
  decode: {
    packets: number;
    truncated: number;
    malformed: number;
    skipped: number;
    fragmentsReassembled: number;
    fragmentsEvicted: number;
    weirds: Record<string, number>;
    /** Packets by encapsulation they came through (present only when some did). */
    encapsulations?: Record<string, number>;
  };
  flowTable: { evicted: number; timedOut: number; otherIpPackets: number };
  inputs: { file: string; format: string; frames: number; bytes: number; complete: boolean; stopped?: { code: string; offset: number | null; message: string } }[];
  exitCode: 0 | 1 | 3;
}

/** Counts flows and findings as they stream past. */
export class Tally {
  readonly verdicts: Record<Verdict, number> = { allowed: 0, violation: 0, warning: 0, local: 0, 'out-of-scope': 0 };
  readonly findings: Partial<Record<FindingCode, number>> = {};
  violations = 0;
  warnings = 0;
  flows = 0;

  add(f: JudgedFlow): void {
    this.flows++;
    this.verdicts[f.verdict]++;
    for (const x of f.findings) this.count(x.code, x.severity);
  }

  addCapture(findings: CaptureFinding[]): void {
    for (const x of findings) this.count(x.code, x.severity);
  }

  private count(code: FindingCode, severity: 'violation' | 'warning'): void {
    this.findings[code] = (this.findings[code] ?? 0) + 1;
    if (severity === 'violation') this.violations++;
    else this.warnings++;
  }

  summary(result: AnalysisResult): RunSummary {
    const d = result.decoder;
    const weirds: Record<string, number> = {};
    for (const [reason, n] of d.malformedReasons) weirds[reason] = n;
    const ordered: Partial<Record<FindingCode, number>> = {};
    for (const code of FINDING_CODES) if (this.findings[code]) ordered[code] = this.findings[code];
    return {
      complete: result.complete,
      frames: result.frames,
      flows: this.flows,
      verdicts: this.verdicts,
      findings: ordered,
      violations: this.violations,
      warnings: this.warnings,
      start: result.first === undefined ? null : isoTime(result.first),
      end: result.last === undefined ? null : isoTime(result.last),
      decode: {
        packets: d.byKind.packet,
        truncated: d.truncated,
        malformed: d.byKind.malformed,
        skipped: d.byKind.skip,
        fragmentsReassembled: d.reassembled,
        fragmentsEvicted: d.fragments.evicted,
        weirds,
        ...(d.encapsulations.size > 0 ? { encapsulations: Object.fromEntries(d.encapsulations) } : {}),
      },
      flowTable: { evicted: result.flows.evicted, timedOut: result.flows.timedOut, otherIpPackets: result.flows.otherPackets },
      inputs: result.inputs.map((i) => {
        const input: RunSummary['inputs'][number] = {
          file: i.file,
          format: i.format,
          frames: i.frames,
          bytes: i.bytesRead,
          complete: i.complete,
        };
        if (i.stopped) input.stopped = { code: i.stopped.code, offset: i.stopped.offset ?? null, message: i.stopped.message };
        return input;
      }),
      exitCode: this.violations > 0 ? 1 : result.complete ? 0 : 3,
    };
  }
}

/** Flows of one client role -> server role, port, service, rule and verdict: the report's overview. */
export interface FlowGroup {
  clientRole: string;
  serverRole: string;
  port: string;
  service: string;
  rule: string;
  verdict: string;
  flows: number;
  bytes: number;
}

/**
 * The orders of String.prototype.localeCompare (the default locale; numeric for ports, so tcp/9 comes
 * before tcp/10), made once: localeCompare with options builds a collator per call, which made sorting
 * a few hundred groups cost a tenth of a second.
 */
const TEXT_ORDER = new Intl.Collator();
const PORT_ORDER = new Intl.Collator(undefined, { numeric: true });

/**
 * A flow's port as the overview tables show it: `tcp/443`, `udp/53`; for ICMP the type and the
 * counterpart type or code, as Zeek's conn.log ports (`icmp/8/0` a ping, `icmp6/135/136` a neighbour
 * solicitation); for another IP protocol its number (`ip-proto/89`).
 */
export function portLabel(flow: JudgedFlow): string {
  switch (flow.transport) {
    case 'tcp':
    case 'udp':
      return `${flow.transport}/${flow.server.port}`;
    case 'icmp':
      return `${flow.ipProto === 58 ? 'icmp6' : 'icmp'}/${flow.client.port}/${flow.server.port}`;
    case 'unknown_transport':
      return `ip-proto/${flow.ipProto}`;
  }
}

/** Aggregates flows into groups, at most `max` of them; flows of further groups are only counted. */
export class FlowGroups {
  private readonly groups = new Map<string, FlowGroup>();
  /** Flows (and their bytes) that fell beyond the cap. */
  readonly overflow = { flows: 0, bytes: 0 };

  constructor(private readonly max: number) {}

  add(flow: JudgedFlow): void {
    const port = portLabel(flow);
    const rule = flow.rule ?? flow.scope ?? '-';
    const key = `${flow.client.role}|${flow.server.role}|${port}|${flow.service}|${rule}|${flow.verdict}`;
    const g = this.groups.get(key);
    if (g) {
      g.flows++;
      g.bytes += flow.bytes;
    } else if (this.groups.size < this.max) {
      this.groups.set(key, {
        clientRole: flow.client.role,
        serverRole: flow.server.role,
        port,
        service: flow.service,
        rule,
        verdict: flow.verdict,
        flows: 1,
        bytes: flow.bytes,
      });
    } else {
      this.overflow.flows++;
      this.overflow.bytes += flow.bytes;
    }
  }

  /** Sorted by client role, server role, then port. */
  sorted(): FlowGroup[] {
    return [...this.groups.values()].sort(
      (a, b) =>
        TEXT_ORDER.compare(a.clientRole, b.clientRole) ||
        TEXT_ORDER.compare(a.serverRole, b.serverRole) ||
        PORT_ORDER.compare(a.port, b.port),
    );
  }
}
