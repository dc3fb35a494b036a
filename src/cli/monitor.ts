/**
 * netmatrix monitor: live watch of a host's interfaces. Alerts go to stdout as they happen (one JSON
 * line each, or a readable line on a terminal); statistics every --stats-interval; on SIGINT/SIGTERM
 * (or --duration) the open flows are judged and the summary printed, with the exit status of analyze.
 */
import { SUPPORTED_LINK_TYPES } from '../decode/link.js';
import { openLive, localAddresses, type InterfaceStats, type LiveCapture } from '../capture/live.js';
import { dropPrivileges } from '../capture/privileges.js';
import { openEvidence, type EvidenceWriter } from '../capture/pcap-writer.js';
import { Engine, type Alert } from '../engine/engine.js';
import { UsageError } from '../model/errors.js';
import { parseCidr } from '../model/address.js';
import type { Inventory } from '../policy/inventory.js';
import type { ComponentRole } from '../model/vocabulary.js';
import { loadRuleSet } from '../policy/load.js';
import { escapeText, safeJson } from '../report/escape.js';
import { startMetrics, type MetricsServer } from '../monitor/metrics.js';
import { flowFields } from '../report/json.js';
import { reportHeader, Tally } from '../report/model.js';
import { TableWriter } from '../report/table.js';
import { isoTime } from '../report/time.js';
import type { CliIO, MatrixArgs } from './run.js';
import { buildInventory, checkBounds } from './run.js';

export interface MonitorArgs extends MatrixArgs {
  interface: string[];
  filter: string | undefined;
  snaplen: number;
  'buffer-size': number;
  immediate: boolean;
  user: string | undefined;
  'self-role': ComponentRole;
  format: 'jsonl' | 'text' | undefined;
  'secagg-timeout': number;
  'stats-interval': number;
  'max-flows': number;
  'max-fragment-bytes': number;
  'write-evidence': string | undefined;
  metrics: string | undefined;
  duration: number | undefined;
  'max-rows': number;
}

/** How the monitor is stopped: signals in production, a test may pass its own. */
export interface StopSource {
  onStop(stop: (reason: string) => void): () => void;
}

export const processSignals: StopSource = {
  onStop(stop) {
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    return () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
  },
};

function positive(name: string, value: number, allowZero = false): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new UsageError(`--${name} must be a positive number`);
}

/** The host's own addresses take --self-role (loopback stays localhost). */
function selfInventory(interfaces: string[], role: ComponentRole): Inventory {
  const cidrs = localAddresses(interfaces)
    .map((a) => parseCidr(a))
    .filter((c): c is NonNullable<typeof c> => c !== undefined)
    .filter((c) => !(c.version === 4 ? c.text.startsWith('127.') : c.text === '::1'));
  return { hosts: cidrs.length > 0 ? [{ name: 'self', role, cidrs, source: `--self-role ${role} (addresses of ${interfaces.join(', ')})` }] : [], tunnel: [] };
}

export async function runMonitor(args: MonitorArgs, io: CliIO, stops: StopSource = processSignals): Promise<number> {
  positive('secagg-timeout', args['secagg-timeout']);
  positive('stats-interval', args['stats-interval'], true);
  positive('snaplen', args.snaplen);
  positive('buffer-size', args['buffer-size']);
  if (args.duration !== undefined) positive('duration', args.duration);
  checkBounds(args);
  const rules = loadRuleSet(args.matrix, args.phase);
  const inventory = buildInventory(args, selfInventory(args.interface, args['self-role']));
  const format = args.format ?? (io.stdoutIsTTY ? 'text' : 'jsonl');

  const live: LiveCapture = await openLive({
    interfaces: args.interface,
    snaplen: args.snaplen,
    bufferSize: Math.round(args['buffer-size'] * 1024 * 1024),
    immediate: args.immediate,
    linkTypes: SUPPORTED_LINK_TYPES,
    ...(args.filter === undefined ? {} : { filter: args.filter }),
  });
  let evidence: EvidenceWriter | undefined;
  let metrics: MetricsServer | undefined;
  const cleanups: (() => void)[] = [];
  try {
    const tally = new Tally();
    const table = format === 'text' ? new TableWriter((t) => io.stdout(t), { color: io.stdoutIsTTY, maxRows: args['max-rows'], ...(io.columns ? { width: io.columns } : {}) }) : undefined;
    const header = reportHeader(rules, inventory, args.interface.map((i) => `interface ${i}`));
    table?.begin(header);
    let flowsEnded = 0;

    const printAlert = (a: Alert): void => {
      if (format === 'jsonl') {
        io.stdout(`{"event":"alert","at":${safeJson(isoTime(a.at))},${flowFields(a.flow)},"finding":${safeJson(a.finding)}}\n`);
      } else {
        const f = a.flow;
        io.stdout(
          `${isoTime(a.at)} ALERT ${a.finding.code} ${f.transport} ${f.client.ip}:${f.client.port} (${f.client.role}) -> ${f.server.ip}:${f.server.port} (${f.server.role}) ${escapeText(a.finding.message)}\n`,
        );
      }
    };
    const engine = new Engine({
      rules,
      inventory,
      flow: { maxFlows: args['max-flows'] },
      fragmentBytes: args['max-fragment-bytes'],
      secaggTimeout: args['secagg-timeout'],
      onAlert: printAlert,
      onFlow: (flow) => {
        flowsEnded++;
        tally.add(flow);
        table?.flow(flow);
      },
      ...(args['write-evidence'] ? { onEvidence: (frame) => evidence?.write(frame) } : {}),
    });

    const stats = (): Record<string, unknown> => ({
      packets: engine.stats.frames,
      bytes: engine.stats.bytes,
      flows: { active: engine.flowStats.active, ended: flowsEnded, evicted: engine.flowStats.evicted, timedOut: engine.flowStats.timedOut },
      alerts: engine.stats.alerts,
      decode: { malformed: engine.decoderStats.byKind.malformed, truncated: engine.decoderStats.truncated },
      pcap: live.stats().map((s) => ({ interface: s.name, received: s.received, captured: s.captured, dropped: s.dropped, ifDropped: s.ifDropped })),
      evidence: evidence ? { frames: evidence.frames, flowsNotKept: engine.stats.evidenceDropped } : null,
      rssMB: Math.round(process.memoryUsage().rss / 1e5) / 10,
    });
    const printStats = (): void => {
      const s = stats();
      if (format === 'jsonl') io.stdout(`${safeJson({ event: 'stats', at: isoTime(Date.now() / 1000), ...s })}\n`);
      else {
        const pcap = (s.pcap as { interface: string; received: number; captured: number; dropped: number; ifDropped: number }[])
          .map((p) => `${escapeText(p.interface)}: ${p.received} received, ${p.captured} captured, ${p.dropped} dropped by the kernel, ${p.ifDropped} by the interface`)
          .join('; ');
        io.stderr(`netmatrix: ${engine.stats.frames} packets, ${engine.flowStats.active} active flows, ${flowsEnded} ended, ${engine.flowStats.evicted} evicted; ${pcap}\n`);
      }
    };

    if (args.metrics) {
      metrics = await startMetrics(args.metrics, () => ({
        packets: engine.stats.frames,
        bytes: engine.stats.bytes,
        flowsActive: engine.flowStats.active,
        flowsEnded,
        flowsEvicted: engine.flowStats.evicted,
        alertsByCode: engine.stats.alerts,
        interfaces: live.stats(),
        decodeMalformed: engine.decoderStats.byKind.malformed,
      }));
      io.stderr(`netmatrix: metrics on ${metrics.url}\n`);
    }

    // Everything that needs root is open: the capture handles and the metrics port. Parsing packets
    // happens without it; the evidence file is created as the user we become (as tcpdump -Z does).
    const privileges = dropPrivileges(args.user);
    if (privileges.outcome === 'dropped') io.stderr(`netmatrix: running as ${privileges.user} (uid ${privileges.uid}, gid ${privileges.gid})\n`);
    if (args['write-evidence']) evidence = openEvidence(args['write-evidence'], live.interfaces);

    // Kernel and interface drops: looked at every second, one `drops` event per interface that lost
    // packets since the last look (how many, and between when and when).
    const dropWatch = new DropWatch(Date.now() / 1000);
    const checkDrops = (): void => {
      const now = Date.now() / 1000;
      for (const d of dropWatch.check(live.stats(), now)) {
        if (format === 'jsonl') io.stdout(`${safeJson({ event: 'drops', at: isoTime(now), ...d, since: isoTime(d.since) })}\n`);
        else io.stderr(`netmatrix: ${escapeText(d.interface)}: ${d.dropped} packets dropped by the kernel and ${d.ifDropped} by the interface since ${isoTime(d.since)} (${d.totalDropped + d.totalIfDropped} in all): they were not judged\n`);
      }
    };

    const reason = await new Promise<string>((resolve) => {
      cleanups.push(stops.onStop(resolve));
      live.start((frame) => engine.frame(frame));
      // The clock drives timeouts while no packet arrives (packets carry their own time).
      const tick = setInterval(() => {
        engine.tick(Date.now() / 1000);
        checkDrops();
      }, 1000);
      cleanups.push(() => clearInterval(tick));
      if (args['stats-interval'] > 0) {
        const timer = setInterval(printStats, args['stats-interval'] * 1000);
        cleanups.push(() => clearInterval(timer));
      }
      if (args.duration !== undefined) {
        const timer = setTimeout(() => resolve('--duration'), args.duration * 1000);
        cleanups.push(() => clearTimeout(timer));
      }
      io.stderr(`netmatrix: monitoring ${args.interface.join(', ')} with matrix ${rules.name} (${format === 'jsonl' ? 'JSON lines' : 'text'} alerts on stdout)\n`);
    });

    for (const c of cleanups.splice(0)) c();
    // Frames the kernel took before the stop are judged, not lost uncounted.
    await live.drainAndClose();
    checkDrops();
    const finalStats = stats();
    // Frames discarded here (arrived before start() beyond the backlog bound) were not judged either.
    const dropped = live.stats().reduce((n, i) => n + i.dropped + i.ifDropped + i.discarded, 0);
    const captureFindings = engine.finish();
    tally.addCapture(captureFindings);
    const summary = tally.summary({
      inputs: [],
      // Packets libpcap dropped were never judged: like a damaged file, the report is incomplete.
      complete: dropped === 0,
      frames: engine.stats.frames,
      decoder: engine.decoderStats,
      flows: engine.flowStats,
      captureFindings,
      first: undefined,
      last: undefined,
    });
    evidence?.close();
    evidence = undefined;
    if (dropped > 0) io.stderr(`netmatrix: ${dropped} packets were dropped before netmatrix saw them (kernel ring, interface or start-up backlog): the judgement is incomplete\n`);
    if (format === 'jsonl') {
      io.stdout(`${safeJson({ event: 'stats', at: isoTime(Date.now() / 1000), ...finalStats })}\n`);
      io.stdout(`${safeJson({ event: 'summary', at: isoTime(Date.now() / 1000), stoppedBy: reason, ...summary, captureFindings })}\n`);
    } else {
      printStats();
      table?.end(summary, captureFindings);
    }
    return summary.exitCode;
  } finally {
    for (const c of cleanups) c();
    live.close(); // idempotent
    evidence?.close();
    await metrics?.close();
  }
}

export interface DropReport {
  interface: string;
  /** Kernel ring drops (ps_drop) since `since`. */
  dropped: number;
  /** Interface drops (ps_ifdrop) since `since`. */
  ifDropped: number;
  /** The previous look, when there were none of these drops yet (seconds since the epoch). */
  since: number;
  totalDropped: number;
  totalIfDropped: number;
}

/** Remembers the drop totals per interface and reports what grew since the last look. */
export class DropWatch {
  private readonly last = new Map<string, { dropped: number; ifDropped: number; at: number }>();
  constructor(private readonly startedAt: number) {}

  check(stats: InterfaceStats[], now: number): DropReport[] {
    const out: DropReport[] = [];
    for (const s of stats) {
      const prev = this.last.get(s.name) ?? { dropped: 0, ifDropped: 0, at: this.startedAt };
      const dropped = s.dropped - prev.dropped;
      const ifDropped = s.ifDropped - prev.ifDropped;
      if (dropped > 0 || ifDropped > 0) {
        out.push({ interface: s.name, dropped, ifDropped, since: prev.at, totalDropped: s.dropped, totalIfDropped: s.ifDropped });
      }
      this.last.set(s.name, { dropped: s.dropped, ifDropped: s.ifDropped, at: now });
    }
    return out;
  }
}
