/**
 * `netmatrix verify PATH...`: replays fixture captures against their expectations (x.pcap beside
 * x.expect.yaml), one PASS/FAIL line each; exit 1 when one fails. With --update the expectations are
 * rewritten from what is observed instead.
 */
import type { Argv } from 'yargs';
import { escapeText } from '../../report/escape.js';
import type { VerifyResult } from '../../verify/verify.js';
import type { ArgsOf, CliIO, CommandDefinition } from '../options.js';
import { OutputFile } from '../output.js';

const builder = (y: Argv) =>
  y
    .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'folders (searched recursively), expectation files or captures' })
    .option('junit', { type: 'string', describe: 'also write the results as JUnit XML to FILE' })
    .option('update', { type: 'boolean', default: false, describe: 'rewrite the expectations from what is observed (review the diff)' });

export type VerifyArgs = ArgsOf<typeof builder>;

export async function runVerify(args: VerifyArgs, io: CliIO): Promise<number> {
  // Loaded on demand: the other commands never pay for the expectation reader.
  const { describeFailure, findExpectations, junit, updateExpectation, verifyExpectation } = await import('../../verify/verify.js');
  const expectations = findExpectations(args.paths);
  const results: VerifyResult[] = [];
  for (const e of expectations) {
    const r = await verifyExpectation(e);
    results.push(r);
    if (args.update) {
      if (!r.passed) updateExpectation(r);
      io.stdout(`${r.passed ? 'same   ' : 'UPDATED'} ${escapeText(r.expectation)}\n`);
    } else if (r.passed) {
      io.stdout(`PASS ${escapeText(r.capture)} (${r.flows} flows, ${r.seconds.toFixed(2)} s)\n`);
    } else {
      io.stdout(`FAIL ${escapeText(r.capture)}: ${escapeText(describeFailure(r).replace(/\n/g, '; '))}\n`);
    }
  }
  if (args.junit) {
    const sink = new OutputFile(args.junit);
    sink.write(junit(results, process.cwd()));
    sink.commit();
  }
  const failed = results.filter((r) => !r.passed).length;
  if (args.update) {
    io.stdout(`${failed} of ${results.length} expectations updated: review them with git diff\n`);
    return 0;
  }
  io.stdout(`verify: ${results.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

export const verifyCommand: CommandDefinition<VerifyArgs> = {
  command: 'verify <paths..>',
  describe: 'replay fixture captures against their expectations (x.pcap beside x.expect.yaml); for CI',
  builder,
  handler: runVerify,
};
