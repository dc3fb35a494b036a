/**
 * The live watch of a host's interfaces. Alerts go to stdout as they happen (one JSON line each, or
 * a readable line); statistics every `statsInterval`; when stopped (SIGINT/SIGTERM or `duration`)
 * the open flows are judged and the summary printed, and the exit status is analyze's.
 */
import { localAddresses, openLive, type LiveCapture } from '../capture/live.js';
import { openEvidence, type EvidenceWriter } from '../capture/pcap-writer.js';
import { dropPrivileges } from '../capture/privileges.js';
import { SUPPORTED_LINK_TYPES } from '../decode/link.js';
import { Engine, type Alert } from '../engine/engine.js';
import { parseCidr } from '../model/address.js';
import type { ComponentRole } from '../model/vocabulary.js';
import type { Inventory } from '../policy/inventory.js';
import type { RuleSet } from '../policy/load.js';
import { escapeText } from '../report/escape.js';
import { JsonlEventWriter } from '../report/json.js';
import { reportHeader, Tally } from '../report/summary.js';
import { TableWriter } from '../report/table.js';
import { isoTime } from '../report/time.js';
import { DropWatch } from './drop-watch.js';
import { startMetrics, type MetricsServer } from './metrics.js';

export interface MonitorOptions {
  rules: RuleSet;
  inventory: Inventory;
  interfaces: string[];
  /** BPF capture filter. */
  filter: string | undefined;
  snaplen: number;
  /** Kernel capture ring per interface, in bytes. */
  bufferBytes: number;
  immediate: boolean;
  /** The user to become once the interfaces are open (undefined: dropPrivileges' default). */
  user: string | undefined;
  /** Alerts, statistics and summary as JSON lines, or as readable lines and the report's table. */
  format: 'jsonl' | 'text';
  /** The text summary table: coloured, and its width (undefined: the table's own). */
  color: boolean;
  width: number | undefined;
  /** Seconds a secagg session may stay open before it is reported. */
  secaggTimeout: number;
  /** Seconds between statistics lines (0: only at exit). */
  statsInterval: number;
  maxFlows: number;
  fragmentBytes: number;
  /** Table rows listed at most per section in the text summary. */
  maxRows: number;
  /** Write the packets of every alerting flow to this pcap or pcapng file. */
  evidence: string | undefined;
  /** Serve Prometheus metrics on this HOST:PORT. */
  metrics: string | undefined;
  /** Stop after this many seconds (undefined: at the stop source's word only). */
  duration: number | undefined;
}

export interface MonitorOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
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

/** The host's own addresses on `interfaces`, as one host of `role` (loopback stays localhost). */
export function selfInventory(interfaces: string[], role: ComponentRole): Inventory {
  const cidrs = localAddresses(interfaces)
    .map((a) => parseCidr(a))
    .filter((c): c is NonNullable<typeof c> => c !== undefined)
    .filter((c) => !(c.version === 4 ? c.text.startsWith('127.') : c.text === '::1'));
  return { hosts: cidrs.length > 0 ? [{ name: 'self', role, cidrs, source: `--self-role ${role} (addresses of ${interfaces.join(', ')})` }] : [], tunnel: [] };
}

/** Runs until stopped; resolves to the exit status of the summary (0, 1, or 3 when packets were lost). */
export async function runMonitor(opts: MonitorOptions, out: MonitorOutput, stops: StopSource = processSignals): Promise<number> {
  const { rules, inventory, format } = opts;
  const live: LiveCapture = await openLive({
    interfaces: opts.interfaces,
    snaplen: opts.snaplen,
    bufferSize: opts.bufferBytes,
    immediate: opts.immediate,
    linkTypes: SUPPORTED_LINK_TYPES,
    ...(opts.filter === undefined ? {} : { filter: opts.filter }),
  });
  let evidence: EvidenceWriter | undefined;
  let metrics: MetricsServer | undefined;
  const cleanups: (() => void)[] = [];
  try {
    const tally = new Tally();
    const events = format === 'jsonl' ? new JsonlEventWriter((t) => out.stdout(t)) : undefined;
    const table = format === 'text' ? new TableWriter((t) => out.stdout(t), { color: opts.color, maxRows: opts.maxRows, ...(opts.width ? { width: opts.width } : {}) }) : undefined;
    const header = reportHeader(rules, inventory, opts.interfaces.map((i) => `interface ${i}`));
    table?.begin(header);
    let flowsEnded = 0;

    const printAlert = (a: Alert): void => {
      if (events) {
        events.alert(a.at, a.flow, a.finding);
      } else {
        const f = a.flow;
        out.stdout(
          `${isoTime(a.at)} ALERT ${a.finding.code} ${f.transport} ${f.client.ip}:${f.client.port} (${f.client.role}) -> ${f.server.ip}:${f.server.port} (${f.server.role}) ${escapeText(a.finding.message)}\n`,
        );
      }
    };
    const engine = new Engine({
      rules,
      inventory,
      flow: { maxFlows: opts.maxFlows },
      fragmentBytes: opts.fragmentBytes,
      secaggTimeout: opts.secaggTimeout,
      onAlert: printAlert,
      onFlow: (flow) => {
        flowsEnded++;
        tally.add(flow);
        table?.flow(flow);
      },
      ...(opts.evidence ? { onEvidence: (frame) => evidence?.write(frame) } : {}),
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
      if (events) events.event('stats', Date.now() / 1000, s);
      else {
        const pcap = (s.pcap as { interface: string; received: number; captured: number; dropped: number; ifDropped: number }[])
          .map((p) => `${escapeText(p.interface)}: ${p.received} received, ${p.captured} captured, ${p.dropped} dropped by the kernel, ${p.ifDropped} by the interface`)
          .join('; ');
        out.stderr(`netmatrix: ${engine.stats.frames} packets, ${engine.flowStats.active} active flows, ${flowsEnded} ended, ${engine.flowStats.evicted} evicted; ${pcap}\n`);
      }
    };

    if (opts.metrics) {
      metrics = await startMetrics(opts.metrics, () => ({
        packets: engine.stats.frames,
        bytes: engine.stats.bytes,
        flowsActive: engine.flowStats.active,
        flowsEnded,
        flowsEvicted: engine.flowStats.evicted,
        alertsByCode: engine.stats.alerts,
        interfaces: live.stats(),
        decodeMalformed: engine.decoderStats.byKind.malformed,
      }));
      out.stderr(`netmatrix: metrics on ${metrics.url}\n`);
    }

    // Everything that needs root is open: the capture handles and the metrics port. Parsing packets
    // happens without it; the evidence file is created as the user we become (as tcpdump -Z does).
    const privileges = dropPrivileges(opts.user);
    if (privileges.outcome === 'dropped') out.stderr(`netmatrix: running as ${privileges.user} (uid ${privileges.uid}, gid ${privileges.gid})\n`);
    if (opts.evidence) evidence = openEvidence(opts.evidence, live.interfaces);

    // Kernel and interface drops: looked at every second, one `drops` event per interface that lost
    // packets since the last look (how many, and between when and when).
    const dropWatch = new DropWatch(Date.now() / 1000);
    const checkDrops = (): void => {
      const now = Date.now() / 1000;
      for (const d of dropWatch.check(live.stats(), now)) {
        if (events) events.event('drops', now, { ...d, since: isoTime(d.since) });
        else out.stderr(`netmatrix: ${escapeText(d.interface)}: ${d.dropped} packets dropped by the kernel and ${d.ifDropped} by the interface since ${isoTime(d.since)} (${d.totalDropped + d.totalIfDropped} in all): they were not judged\n`);
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
      if (opts.statsInterval > 0) {
        const timer = setInterval(printStats, opts.statsInterval * 1000);
        cleanups.push(() => clearInterval(timer));
      }
      if (opts.duration !== undefined) {
        const timer = setTimeout(() => resolve('--duration'), opts.duration * 1000);
        cleanups.push(() => clearTimeout(timer));
      }
      out.stderr(`netmatrix: monitoring ${opts.interfaces.join(', ')} with matrix ${rules.name} (${format === 'jsonl' ? 'JSON lines' : 'text'} alerts on stdout)\n`);
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
    if (dropped > 0) out.stderr(`netmatrix: ${dropped} packets were dropped before netmatrix saw them (kernel ring, interface or start-up backlog): the judgement is incomplete\n`);
    if (events) {
      events.event('stats', Date.now() / 1000, finalStats);
      events.summary(Date.now() / 1000, reason, summary, captureFindings);
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
