/**
 * netmatrix monitor: live watch of a host's interfaces. Alerts go to stdout as they happen (one JSON
 * line each, or a readable line on a terminal); statistics every --stats-interval; on SIGINT/SIGTERM
 * (or --duration) the open flows are judged and the summary printed, with the exit status of analyze.
 */
import { openLive, localAddresses, type LiveCapture } from '../capture/live.js';
import { openEvidence, type EvidenceWriter } from '../capture/pcap-writer.js';
import { Engine, type Alert } from '../engine.js';
import { UsageError } from '../errors.js';
import { parseCidr } from '../policy/addr.js';
import type { Inventory } from '../policy/inventory.js';
import type { ComponentRole } from '../policy/schema.js';
import { loadRuleSet } from '../policy/load.js';
import { escapeText, safeJson } from '../report/escape.js';
import { startMetrics, type MetricsServer } from '../report/metrics.js';
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
  if (args.duration !== undefined) positive('duration', args.duration);
  checkBounds(args);
  const rules = loadRuleSet(args.matrix, args.phase);
  const inventory = buildInventory(args, selfInventory(args.interface, args['self-role']));
  const format = args.format ?? (io.stdoutIsTTY ? 'text' : 'jsonl');

  const live: LiveCapture = await openLive({
    interfaces: args.interface,
    snaplen: args.snaplen,
    ...(args.filter === undefined ? {} : { filter: args.filter }),
  });
  let liveOpen = true;
  const closeLive = (): void => {
    if (liveOpen) live.close();
    liveOpen = false;
  };
  let evidence: EvidenceWriter | undefined;
  let metrics: MetricsServer | undefined;
  const cleanups: (() => void)[] = [];
  try {
    if (args['write-evidence']) evidence = openEvidence(args['write-evidence'], live.interfaces);
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
      ...(evidence ? { onEvidence: (frame) => evidence?.write(frame) } : {}),
    });

    const stats = (): Record<string, unknown> => ({
      packets: engine.stats.frames,
      bytes: engine.stats.bytes,
      flows: { active: engine.flowStats.active, ended: flowsEnded, evicted: engine.flowStats.evicted, timedOut: engine.flowStats.timedOut },
      alerts: engine.stats.alerts,
      decode: { malformed: engine.decoderStats.byKind.malformed, truncated: engine.decoderStats.truncated },
      pcap: live.stats().map((s) => ({ interface: s.name, received: s.received, dropped: s.dropped, ifDropped: s.ifDropped })),
      evidence: evidence ? { frames: evidence.frames, flowsNotKept: engine.stats.evidenceDropped } : null,
      rssMB: Math.round(process.memoryUsage().rss / 1e5) / 10,
    });
    const printStats = (): void => {
      const s = stats();
      if (format === 'jsonl') io.stdout(`${safeJson({ event: 'stats', at: isoTime(Date.now() / 1000), ...s })}\n`);
      else {
        const pcap = (s.pcap as { interface: string; received: number; dropped: number | null; ifDropped: number }[])
          .map((p) => `${p.interface}: ${p.received} received, ${p.dropped ?? 'unknown'} dropped, ${p.ifDropped} dropped by the interface`)
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

    const reason = await new Promise<string>((resolve) => {
      cleanups.push(stops.onStop(resolve));
      live.start((frame) => engine.frame(frame));
      // The clock drives timeouts while no packet arrives (packets carry their own time).
      const tick = setInterval(() => engine.tick(Date.now() / 1000), 1000);
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
    const finalStats = stats();
    const dropped = live.stats().reduce((n, i) => n + (i.dropped ?? 0) + i.ifDropped, 0);
    closeLive();
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
    if (dropped > 0) io.stderr(`netmatrix: libpcap dropped ${dropped} packets: they were not judged\n`);
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
    closeLive();
    evidence?.close();
    await metrics?.close();
  }
}
