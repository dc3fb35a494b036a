/**
 * `netmatrix monitor -i IFACE...`: checks the options, loads the matrix and the inventory (with this
 * host's own addresses as --self-role) and runs the live watch (src/monitor/monitor.ts).
 */
import type { Argv } from 'yargs';
import { UsageError } from '../../model/errors.js';
import { loadRuleSet } from '../../policy/load.js';
import { boundOptions, buildInventory, checkBounds, matrixOptions, type ArgsOf, type CliIO, type CommandDefinition } from '../options.js';

const builder = (y: Argv) =>
  y
    .option('interface', { alias: 'i', type: 'string', array: true, demandOption: true, describe: 'interface to capture on (repeatable; "any" for all)' })
    .option('filter', { type: 'string', describe: 'BPF capture filter' })
    .option('snaplen', { type: 'number', default: 262144, describe: 'bytes captured per packet' })
    .option('buffer-size', { alias: 'B', type: 'number', default: 32, describe: 'kernel capture ring per interface, in MiB' })
    .option('immediate', { type: 'boolean', default: false, describe: 'libpcap immediate mode (default: frames wait up to 50 ms in the ring, which holds many more)' })
    .option('user', { alias: 'Z', type: 'string', describe: 'user to become once the interfaces are open (default when started as root: nobody; "root" keeps root)' })
    .option('self-role', { choices: ['node', 'researcher', 'vpnserver'] as const, default: 'node' as const, describe: "role of this host's own addresses" })
    .options(matrixOptions)
    .option('format', { choices: ['jsonl', 'text'] as const, describe: 'alerts as JSON lines (default when stdout is not a terminal) or readable lines' })
    .option('secagg-timeout', { type: 'number', default: 60, describe: 'seconds a secagg session may stay open before it is reported' })
    .option('stats-interval', { type: 'number', default: 60, describe: 'seconds between statistics lines (0: only at exit)' })
    .options(boundOptions)
    .option('max-rows', { type: 'number', default: 200, describe: 'table rows listed at most per section in the summary' })
    .option('write-evidence', { type: 'string', describe: 'write the packets of every alerting flow to FILE.pcap (or .pcapng)' })
    .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on HOST:PORT (e.g. 127.0.0.1:9469)' })
    .option('duration', { type: 'number', describe: 'stop after this many seconds (default: run until SIGINT/SIGTERM)' });

export type MonitorArgs = ArgsOf<typeof builder>;

function positive(name: string, value: number, allowZero = false): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new UsageError(`--${name} must be a positive number`);
}

export async function monitorFromArgs(args: MonitorArgs, io: CliIO): Promise<number> {
  // Loaded on demand: analyze never pays for the live capture and metrics modules.
  const { runMonitor, selfInventory } = await import('../../monitor/monitor.js');
  positive('secagg-timeout', args['secagg-timeout']);
  positive('stats-interval', args['stats-interval'], true);
  positive('snaplen', args.snaplen);
  positive('buffer-size', args['buffer-size']);
  if (args.duration !== undefined) positive('duration', args.duration);
  checkBounds(args);
  const rules = loadRuleSet(args.matrix, args.phase);
  const inventory = buildInventory(args, selfInventory(args.interface, args['self-role']));
  return runMonitor(
    {
      rules,
      inventory,
      interfaces: args.interface,
      filter: args.filter,
      snaplen: args.snaplen,
      bufferBytes: Math.round(args['buffer-size'] * 1024 * 1024),
      immediate: args.immediate,
      user: args.user,
      format: args.format ?? (io.stdoutIsTTY ? 'text' : 'jsonl'),
      color: io.stdoutIsTTY,
      width: io.columns,
      secaggTimeout: args['secagg-timeout'],
      statsInterval: args['stats-interval'],
      maxFlows: args['max-flows'],
      fragmentBytes: args['max-fragment-bytes'],
      maxRows: args['max-rows'],
      evidence: args['write-evidence'],
      metrics: args.metrics,
      duration: args.duration,
    },
    io,
  );
}

export const monitorCommand: CommandDefinition<MonitorArgs> = {
  command: 'monitor',
  describe: 'watch live interfaces and alert on violations as they happen (needs root or CAP_NET_RAW)',
  builder,
  handler: monitorFromArgs,
};
