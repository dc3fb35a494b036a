/**
 * `netmatrix infer CAPTURE... [--output FILE]`: an inventory proposed from traffic alone, as a
 * `--hosts` YAML file with the evidence and a confidence per host and the ambiguities as comments.
 * Exit 0 once written; capture and usage errors are thrown (NetmatrixError) for the CLI's handler,
 * which prints one line and exits 2.
 */
import { UsageError } from '../model/errors.js';
import { inferFromCaptures, proposalYaml } from '../infer/infer.js';
import { escapeText } from '../report/escape.js';
import { sameFile, writeOutputFile } from './output.js';
import type { CliIO } from './run.js';

export interface InferArgs {
  captures: string[];
  output?: string;
}

export function runInfer(args: InferArgs, io: CliIO): number {
  if (args.captures.length === 0) throw new UsageError('infer: give at least one capture file');
  const output = args.output;
  if (output !== undefined) {
    for (const c of args.captures) {
      if (sameFile(c, output)) throw new UsageError(`--output ${output} is one of the captures`);
    }
  }
  const { inference } = inferFromCaptures({ files: args.captures, onWarning: (m) => io.stderr(`netmatrix: warning: ${escapeText(m)}\n`) });
  const text = proposalYaml(inference, args.captures);
  if (output === undefined) io.stdout(text);
  else {
    try {
      writeOutputFile(output, text);
    } catch (err) {
      throw new UsageError(`--output ${output}: ${(err as Error).message}`);
    }
    io.stderr(`netmatrix: ${inference.hosts.length} host(s) proposed, ${inference.ambiguities.length} ambiguit${inference.ambiguities.length === 1 ? 'y' : 'ies'}; written to ${escapeText(output)}\n`);
  }
  return 0;
}
