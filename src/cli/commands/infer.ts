/**
 * `netmatrix infer CAPTURE... [--output FILE]`: an inventory proposed from traffic alone, as a
 * `--hosts` YAML file with the evidence and a confidence per host and the ambiguities as comments.
 * Exit 0 once written.
 */
import type { Argv } from 'yargs';
import { UsageError } from '../../model/errors.js';
import { escapeText } from '../../report/escape.js';
import type { ArgsOf, CliIO, CommandDefinition } from '../options.js';
import { sameFile, writeOutputFile } from '../output.js';

const builder = (y: Argv) =>
  y
    .positional('captures', { type: 'string', array: true, demandOption: true })
    .option('output', { alias: 'o', type: 'string', describe: 'write the YAML to FILE instead of stdout' });

export type InferArgs = ArgsOf<typeof builder>;

export async function runInfer(args: InferArgs, io: CliIO): Promise<number> {
  // Loaded on demand: the other commands never pay for the inference rules.
  const { inferFromCaptures, proposalYaml } = await import('../../infer/infer.js');
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
      // A file system error carries no exit code of its own: as a usage error it is one line naming
      // the option, like every other bad path the user gave.
      throw new UsageError(`--output ${output}: ${(err as Error).message}`);
    }
    io.stderr(`netmatrix: ${inference.hosts.length} host(s) proposed, ${inference.ambiguities.length} ambiguit${inference.ambiguities.length === 1 ? 'y' : 'ies'}; written to ${escapeText(output)}\n`);
  }
  return 0;
}

export const inferCommand: CommandDefinition<InferArgs> = {
  command: 'infer <captures..>',
  describe: 'propose an inventory (--hosts YAML) from traffic alone, with evidence and confidence per host',
  builder,
  handler: runInfer,
};
