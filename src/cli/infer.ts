/**
 * `netmatrix infer CAPTURE... [--output FILE]`: an inventory proposed from traffic alone, as a
 * `--hosts` YAML file with the evidence and a confidence per host and the ambiguities as comments.
 * Exit 0 once written; capture and usage errors are thrown (NetmatrixError) for the CLI's handler,
 * which prints one line and exits 2.
 */
import { closeSync, existsSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { inferFromCaptures, proposalYaml } from '../policy/infer.js';
import { escapeText } from '../report/escape.js';
import type { CliIO } from './run.js';

export interface InferArgs {
  captures: string[];
  output?: string;
}

function sameFile(a: string, b: string): boolean {
  try {
    return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Writes beside the target and renames (no half file); a special file (/dev/null, FIFO) in place. */
function writeOutput(path: string, text: string): void {
  let special = false;
  try {
    special = !statSync(path).isFile();
  } catch {
    special = false;
  }
  const tmp = special ? undefined : join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp ?? path, 'w');
  try {
    writeSync(fd, text);
  } catch (err) {
    closeSync(fd);
    if (tmp !== undefined) unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  if (tmp !== undefined) renameSync(tmp, path);
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
      writeOutput(output, text);
    } catch (err) {
      throw new UsageError(`--output ${output}: ${(err as Error).message}`);
    }
    io.stderr(`netmatrix: ${inference.hosts.length} host(s) proposed, ${inference.ambiguities.length} ambiguit${inference.ambiguities.length === 1 ? 'y' : 'ies'}; written to ${escapeText(output)}\n`);
  }
  return 0;
}
