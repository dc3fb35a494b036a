/**
 * `netmatrix analyze CAPTURE...`: judges capture files against the matrix and writes the report in
 * the chosen format (stdout or --output FILE); the exit status is the summary's.
 */
import type { Argv } from 'yargs';
import { analyzeCaptures, type AnalysisResult, type AnalyzeOptions } from '../../engine/analyze.js';
import { UsageError } from '../../model/errors.js';
import { loadRuleSet, type RuleSet } from '../../policy/load.js';
import { escapeText } from '../../report/escape.js';
import { reportHeader, Tally } from '../../report/summary.js';
import type { ReportWriter, Sink } from '../../report/writer.js';
import { boundOptions, buildInventory, checkBounds, matrixOptions, type ArgsOf, type CliIO, type CommandDefinition } from '../options.js';
import { OutputFile, sameFile, TextBuffer } from '../output.js';

/** Files bigger than this get a progress bar (when stderr is a terminal). */
const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

const builder = (y: Argv) =>
  y
    .positional('captures', { type: 'string', array: true, describe: 'capture files (or flow records, see --input); several files are one run', demandOption: true })
    .option('input', {
      choices: ['pcap', 'zeek', 'netflow', 'netflow-csv'] as const,
      default: 'pcap' as const,
      describe: 'what the files are: pcap/pcapng captures, Zeek logs (conn.log, ssl.log, http.log; TSV or JSON, gzip), nfcapd files or folders (read with nfdump), or a firewall\'s CSV export',
    })
    .options(matrixOptions)
    .option('format', { choices: ['table', 'json', 'jsonl', 'markdown', 'html'] as const, default: 'table' as const })
    .option('output', { alias: 'o', type: 'string', describe: 'write the report to FILE instead of stdout' })
    .options(boundOptions)
    .option('secagg-timeout', { type: 'number', describe: 'seconds a secagg session may last (default: only sessions still open at the end are reported)' })
    .option('max-rows', { type: 'number', default: 200, describe: 'table rows listed at most per section' })
    .option('progress', { type: 'boolean', describe: 'progress bar on stderr (default: when stderr is a terminal and the input is large)' })
    .option('color', { type: 'boolean', describe: 'colour the table (default: when stdout is a terminal)' });

export type AnalyzeArgs = ArgsOf<typeof builder>;

/** The writer for a format; each format's module (and its dependencies) is loaded only when chosen. */
async function reportWriter(args: AnalyzeArgs, sink: Sink, rules: RuleSet, io: CliIO): Promise<ReportWriter> {
  switch (args.format) {
    case 'json':
      return new (await import('../../report/json.js')).JsonWriter(sink);
    case 'jsonl':
      return new (await import('../../report/json.js')).JsonlWriter(sink);
    case 'markdown':
      return new (await import('../../report/markdown.js')).MarkdownWriter(sink, args['max-rows']);
    case 'html':
      return new (await import('../../report/html.js')).HtmlWriter(sink, rules, args['max-rows']);
    default:
      return new (await import('../../report/table.js')).TableWriter(sink, {
        color: args.color ?? (io.stdoutIsTTY && !args.output),
        maxRows: args['max-rows'],
        ...(io.stdoutIsTTY && !args.output && io.columns ? { width: io.columns } : {}),
      });
  }
}

export async function runAnalyze(args: AnalyzeArgs, io: CliIO): Promise<number> {
  if (args.captures.length === 0) throw new UsageError('analyze: give at least one capture file');
  checkBounds(args);
  if (!Number.isInteger(args['max-rows']) || args['max-rows'] < 1) throw new UsageError('--max-rows must be a positive integer');
  const timeout = args['secagg-timeout'];
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError('--secagg-timeout must be a positive number of seconds');
  if (args.format === 'html' && !args.output) throw new UsageError('--format html needs --output FILE');
  const rules = loadRuleSet(args.matrix, args.phase);
  const inventory = buildInventory(args);
  const output = args.output;
  if (output && args.captures.some((c) => sameFile(c, output))) {
    throw new UsageError(`--output ${output} is one of the input captures; refusing to overwrite it`);
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
  let header = reportHeader(rules, inventory, args.captures);
  let begun = false;
  const begin = (): void => {
    if (begun) return;
    begun = true;
    if (output) file = new OutputFile(output);
    writer.begin(header);
  };
  const input = args.input;
  const analyze = async (o: AnalyzeOptions): Promise<AnalysisResult> => {
    if (input === 'pcap') return analyzeCaptures(o);
    const { analyzeRecords } = await import('../../engine/records.js');
    return analyzeRecords({
      input,
      files: o.files,
      rules: o.rules,
      inventory: o.inventory,
      ...(o.secaggTimeout === undefined ? {} : { secaggTimeout: o.secaggTimeout }),
      onFlow: o.onFlow,
      onEvidence: (limits) => {
        header = reportHeader(rules, inventory, args.captures, limits);
      },
      ...(o.onWarning ? { onWarning: o.onWarning } : {}),
    });
  };
  const result = await analyze({
    files: args.captures,
    rules,
    inventory,
    flow: { maxFlows: args['max-flows'] },
    fragmentBytes: args['max-fragment-bytes'],
    ...(timeout === undefined ? {} : { secaggTimeout: timeout }),
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
  if (input !== 'pcap') {
    // A damaged record file: one line naming the file and line, exit 2; the report covers what was read.
    for (const i of result.inputs) if (i.stopped) io.stderr(`netmatrix: ${escapeText(i.stopped.message)} (the report covers what was read before)\n`);
  } else if (!result.complete) io.stderr('netmatrix: the capture is incomplete: the report covers only what was read\n');
  if (tally.flows > 0 && involved === 0) {
    // Nothing was judged against the matrix: most likely the inventory does not match the capture.
    io.stderr(`netmatrix: warning: none of the ${tally.flows} flows involves a host of the inventory; check --node/--researcher/--vpnserver/--hosts\n`);
  }
  return summary.exitCode;
}

export const analyzeCommand: CommandDefinition<AnalyzeArgs> = {
  command: 'analyze <captures..>',
  describe: 'judge capture files (pcap, pcapng) against the Fed-BioMed communication matrix',
  builder,
  handler: runAnalyze,
};
