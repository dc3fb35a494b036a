/**
 * The command line (yargs). The only place that knows about stdout, stderr and exit codes; argv and
 * the streams are parameters so tests run it in-process.
 */
// yargs is bundled into the command (dist/bin/netmatrix.cjs), so its ESM entry costs nothing there.
import yargs from 'yargs/yargs';
import { analyzeCaptures } from '../engine/analyze.js';
import type { MonitorArgs } from './monitor.js';
import { OutputFile, sameFile, TextBuffer } from './output.js';
import { NetmatrixError, UsageError } from '../model/errors.js';
import { inventoryFromFlags, mergeInventories, type Inventory } from '../policy/inventory.js';
import { builtinMatrices, loadInventoryFile, loadRuleSet, type RuleSet } from '../policy/load.js';
import { escapeText } from '../report/escape.js';
import { reportHeader, Tally } from '../report/model.js';
import type { ReportWriter, Sink } from '../report/writer.js';
import type { VerifyResult } from '../verify/verify.js';

export interface CliIO {
  stdout: (text: string) => void;
  /** The report's bytes (UTF-8), when the stream takes bytes; written at once, before returning. */
  stdoutBytes?: (bytes: Uint8Array) => void;
  stderr: (text: string) => void;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Terminal width when stdout is a terminal. */
  columns?: number;
}

/** Files bigger than this get a progress bar (when stderr is a terminal). */
const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

export interface MatrixArgs {
  matrix: string;
  phase: 'run' | 'install';
  node: string[] | undefined;
  researcher: string[] | undefined;
  vpnserver: string[] | undefined;
  tunnel: string[] | undefined;
  hosts: string | undefined;
}

interface AnalyzeArgs extends MatrixArgs {
  captures: string[];
  format: 'table' | 'json' | 'jsonl' | 'markdown' | 'html';
  output: string | undefined;
  'max-flows': number;
  'max-fragment-bytes': number;
  'max-rows': number;
  'secagg-timeout': number | undefined;
  progress: boolean | undefined;
  color: boolean | undefined;
}

/** The inventory from --hosts and the role flags; `extra` hosts (the monitor's own addresses) join it. */
export function buildInventory(args: MatrixArgs, extra?: Inventory): Inventory {
  const flags = inventoryFromFlags({
    node: args.node ?? [],
    researcher: args.researcher ?? [],
    vpnserver: args.vpnserver ?? [],
    tunnel: args.tunnel ?? [],
  });
  let inventory = args.hosts ? mergeInventories(loadInventoryFile(args.hosts), flags) : flags;
  if (extra) inventory = mergeInventories(inventory, extra);
  if (inventory.hosts.length === 0) {
    throw new UsageError('no inventory: give --node/--researcher/--vpnserver ADDR|CIDR or --hosts FILE.yaml, so the matrix knows who is who');
  }
  return inventory;
}

/** The writer for a format; each format's module (and its dependencies) is loaded only when chosen. */
async function reportWriter(args: AnalyzeArgs, sink: Sink, rules: RuleSet, io: CliIO): Promise<ReportWriter> {
  switch (args.format) {
    case 'json':
      return new (await import('../report/json.js')).JsonWriter(sink);
    case 'jsonl':
      return new (await import('../report/json.js')).JsonlWriter(sink);
    case 'markdown':
      return new (await import('../report/markdown.js')).MarkdownWriter(sink, args['max-rows']);
    case 'html':
      return new (await import('../report/html.js')).HtmlWriter(sink, rules, args['max-rows']);
    default:
      return new (await import('../report/table.js')).TableWriter(sink, {
        color: args.color ?? (io.stdoutIsTTY && !args.output),
        maxRows: args['max-rows'],
        ...(io.stdoutIsTTY && !args.output && io.columns ? { width: io.columns } : {}),
      });
  }
}

async function runAnalyze(args: AnalyzeArgs, io: CliIO): Promise<number> {
  if (args.captures.length === 0) throw new UsageError('analyze: give at least one capture file');
  checkBounds(args);
  if (!Number.isInteger(args['max-rows']) || args['max-rows'] < 1) throw new UsageError('--max-rows must be a positive integer');
  const timeout = args['secagg-timeout'];
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError('--secagg-timeout must be a positive number of seconds');
  if (args.format === 'html' && !args.output) throw new UsageError('--format html needs --output FILE');
  const rules = loadRuleSet(args.matrix, args.phase);
  const inventory = buildInventory(args);
  if (args.output && args.captures.some((c) => sameFile(c, args.output as string))) {
    throw new UsageError(`--output ${args.output} is one of the input captures; refusing to overwrite it`);
  }

  let file: OutputFile | undefined;
  const stdout = new TextBuffer(io.stdoutBytes ?? ((bytes) => io.stdout(bytes.toString('utf8'))));
  const sink: Sink = (text) => {
    if (file) file.write(text);
    else stdout.write(text);
  };
  const writer = await reportWriter(args, sink, rules, io);

  const showProgress = args.progress ?? io.stderrIsTTY;
  let lastDraw = 0;
  let drew = false;
  const onProgress = (done: number, total: number): void => {
    if (!showProgress || total < PROGRESS_MIN_BYTES) return;
    const now = Date.now(); // screen refresh only; packet time never comes from the clock
    if (now - lastDraw < 200 && done < total) return;
    lastDraw = now;
    drew = true;
    const width = 30;
    const filled = Math.round((done / total) * width);
    io.stderr(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.floor((done / total) * 100)}% ${(done / 1e6).toFixed(0)}/${(total / 1e6).toFixed(0)} MB`);
  };

  const tally = new Tally();
  /** Flows with at least one inventory host (or localhost) at an end. */
  let involved = 0;
  // Open the output only once the inputs have been checked (analyzeCaptures checks them first).
  const header = reportHeader(rules, inventory, args.captures);
  let begun = false;
  const begin = (): void => {
    if (begun) return;
    begun = true;
    if (args.output) file = new OutputFile(args.output);
    writer.begin(header);
  };
  const result = analyzeCaptures({
    files: args.captures,
    rules,
    inventory,
    flow: { maxFlows: args['max-flows'] },
    fragmentBytes: args['max-fragment-bytes'],
    ...(args['secagg-timeout'] === undefined ? {} : { secaggTimeout: args['secagg-timeout'] }),
    onFlow: (flow) => {
      begin();
      tally.add(flow);
      if (flow.scope !== 'unrelated') involved++;
      writer.flow(flow);
    },
    onProgress,
    onWarning: (message) => {
      if (drew) io.stderr('\n');
      drew = false;
      io.stderr(`netmatrix: warning: ${escapeText(message)}\n`);
    },
  });
  if (drew) io.stderr('\n');
  begin();
  tally.addCapture(result.captureFindings);
  const summary = tally.summary(result);
  writer.end(summary, result.captureFindings);
  stdout.flush();
  file?.commit();
  if (!result.complete) io.stderr('netmatrix: the capture is incomplete: the report covers only what was read\n');
  if (tally.flows > 0 && involved === 0) {
    // Nothing was judged against the matrix: most likely the inventory does not match the capture.
    io.stderr(`netmatrix: warning: none of the ${tally.flows} flows involves a host of the inventory; check --node/--researcher/--vpnserver/--hosts\n`);
  }
  return summary.exitCode;
}

async function runVerify(paths: string[], junitFile: string | undefined, update: boolean, io: CliIO): Promise<number> {
  const { describeFailure, findExpectations, junit, updateExpectation, verifyOne } = await import('../verify/verify.js');
  const expectations = findExpectations(paths);
  const results: VerifyResult[] = [];
  for (const e of expectations) {
    const r = verifyOne(e);
    results.push(r);
    if (update) {
      if (!r.passed) updateExpectation(r);
      io.stdout(`${r.passed ? 'same   ' : 'UPDATED'} ${escapeText(r.expectation)}\n`);
    } else if (r.passed) {
      io.stdout(`PASS ${escapeText(r.capture)} (${r.flows} flows, ${r.seconds.toFixed(2)} s)\n`);
    } else {
      io.stdout(`FAIL ${escapeText(r.capture)}: ${escapeText(describeFailure(r).replace(/\n/g, '; '))}\n`);
    }
  }
  if (junitFile) {
    const sink = new OutputFile(junitFile);
    sink.write(junit(results, process.cwd()));
    sink.commit();
  }
  const failed = results.filter((r) => !r.passed).length;
  if (update) {
    io.stdout(`${failed} of ${results.length} expectations updated: review them with git diff\n`);
    return 0;
  }
  io.stdout(`verify: ${results.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

/** Memory bounds, shared by analyze and monitor. */
export const boundOptions = {
  'max-flows': { type: 'number', default: 100_000, describe: 'live flows kept at most; the oldest is evicted and counted beyond it' },
  'max-fragment-bytes': { type: 'number', default: 8 * 1024 * 1024, describe: 'bytes of IP fragments buffered at most; the oldest datagram is dropped and counted beyond it' },
} as const;

export function checkBounds(args: { 'max-flows': number; 'max-fragment-bytes': number }): void {
  if (!Number.isInteger(args['max-flows']) || args['max-flows'] < 1) throw new UsageError('--max-flows must be a positive integer');
  if (!Number.isInteger(args['max-fragment-bytes']) || args['max-fragment-bytes'] < 65536) {
    throw new UsageError('--max-fragment-bytes must be an integer of at least 65536 (one whole datagram)');
  }
}

/** The matrix and inventory options, shared by analyze and monitor. */
export const matrixOptions = {
  matrix: { type: 'string', default: 'native', describe: `rule set: ${builtinMatrices().filter((m) => !['install', 'host-services'].includes(m)).join(', ')} or a YAML file` },
  phase: { choices: ['run', 'install'] as const, default: 'run' as const, describe: 'install adds outbound HTTP/HTTPS to the Internet' },
  node: { type: 'string', array: true, describe: 'address or CIDR of a node (repeatable)' },
  researcher: { type: 'string', array: true, describe: 'address or CIDR of the researcher (repeatable)' },
  vpnserver: { type: 'string', array: true, describe: 'address or CIDR of the vpnserver (repeatable)' },
  tunnel: { type: 'string', array: true, describe: 'CIDR of the VPN inner network (repeatable)' },
  hosts: { type: 'string', describe: 'inventory YAML file (hosts: name, role, addresses; tunnel)' },
} as const;

/** Runs the CLI; returns the exit status (0 ok, 1 violations, 2 usage/rules/input, 3 incomplete). */
export async function run(argv: string[], io: CliIO): Promise<number> {
  let code = 0;
  const parser = yargs(argv)
    .scriptName('netmatrix')
    .usage('$0 <command> [options]')
    .command(
      'analyze <captures..>',
      'judge capture files (pcap, pcapng) against the Fed-BioMed communication matrix',
      (y) =>
        y
          .positional('captures', { type: 'string', array: true, describe: 'capture files; several files are one run', demandOption: true })
          .options(matrixOptions)
          .option('format', { choices: ['table', 'json', 'jsonl', 'markdown', 'html'] as const, default: 'table' as const })
          .option('output', { alias: 'o', type: 'string', describe: 'write the report to FILE instead of stdout' })
          .options(boundOptions)
          .option('secagg-timeout', { type: 'number', describe: 'seconds a secagg session may last (default: only sessions still open at the end are reported)' })
          .option('max-rows', { type: 'number', default: 200, describe: 'table rows listed at most per section' })
          .option('progress', { type: 'boolean', describe: 'progress bar on stderr (default: when stderr is a terminal and the input is large)' })
          .option('color', { type: 'boolean', describe: 'colour the table (default: when stdout is a terminal)' }),
      async (args) => {
        code = await runAnalyze(args as unknown as AnalyzeArgs, io);
      },
    )
    .command(
      'monitor',
      'watch live interfaces and alert on violations as they happen (needs root or CAP_NET_RAW)',
      (y) =>
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
          .option('duration', { type: 'number', describe: 'stop after this many seconds (default: run until SIGINT/SIGTERM)' }),
      async (args) => {
        // Loaded on demand: analyze never pays for the live capture and metrics modules.
        const { runMonitor } = await import('./monitor.js');
        code = await runMonitor(args as unknown as MonitorArgs, io);
      },
    )
    .command(
      'verify <paths..>',
      'replay fixture captures against their expectations (x.pcap beside x.expect.yaml); for CI',
      (y) =>
        y
          .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'folders (searched recursively), expectation files or captures' })
          .option('junit', { type: 'string', describe: 'also write the results as JUnit XML to FILE' })
          .option('update', { type: 'boolean', default: false, describe: 'rewrite the expectations from what is observed (review the diff)' }),
      async (args) => {
        code = await runVerify(args.paths as string[], args.junit, args.update, io);
      },
    )
    .command(
      'rules <action> [name]',
      'the shipped matrices: list, show NAME (per component, as the documentation prints it), check FILE',
      (y) =>
        y
          .positional('action', { choices: ['list', 'show', 'check'] as const, demandOption: true })
          .positional('name', { type: 'string', describe: 'rule set name (show) or YAML file (show, check)' }),
      async (args) => {
        const { runRules } = await import('./rules.js');
        code = runRules({ action: args.action, ...(args.name === undefined ? {} : { name: args.name }) }, io);
      },
    )
    .command(
      'infer <captures..>',
      'propose an inventory (--hosts YAML) from traffic alone, with evidence and confidence per host',
      (y) =>
        y
          .positional('captures', { type: 'string', array: true, demandOption: true })
          .option('output', { alias: 'o', type: 'string', describe: 'write the YAML to FILE instead of stdout' }),
      async (args) => {
        const { runInfer } = await import('./infer.js');
        code = runInfer({ captures: args.captures as string[], ...(args.output === undefined ? {} : { output: args.output }) }, io);
      },
    )
    .command(
      'firewall',
      'print the host firewall (nftables or iptables) that enforces the matrix for one role',
      (y) =>
        y
          .option('matrix', { type: 'string', default: 'native', describe: 'rule set name or YAML file' })
          .option('phase', { choices: ['run', 'install'] as const, default: 'run' as const })
          .option('hosts', { type: 'string', demandOption: true, describe: 'inventory YAML file' })
          .option('role', { choices: ['node', 'researcher', 'vpnserver'] as const, demandOption: true, describe: 'the role of the host the firewall is for' })
          .option('format', { choices: ['nft', 'iptables', 'ip6tables'] as const, default: 'nft' as const }),
      async (args) => {
        const { runFirewall } = await import('./firewall.js');
        code = runFirewall({ matrix: args.matrix, phase: args.phase, hosts: args.hosts, role: args.role, format: args.format }, io);
      },
    )
    .demandCommand(1, 'give a command: analyze, monitor, verify, rules, infer or firewall')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(`${msg} (see netmatrix --help)`);
    });
  try {
    let helpText = '';
    await parser.parseAsync(argv, {}, (_err, _parsed, output) => {
      helpText = output;
    });
    if (helpText) io.stdout(`${helpText}\n`);
    return code;
  } catch (err) {
    if (err instanceof NetmatrixError) {
      io.stderr(`netmatrix: ${escapeText(err.message)}\n`);
      return err.exitCode;
    }
    const e = err as Error;
    io.stderr(`netmatrix: internal error: ${escapeText(e.message ?? String(err))}\n`);
    if (process.env.NETMATRIX_DEBUG) io.stderr(`${e.stack ?? ''}\n`);
    return 2;
  }
}
