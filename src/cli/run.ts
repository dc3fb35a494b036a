/**
 * The command line (yargs): registers the commands of cli/commands/ and turns what they return or
 * throw into an exit status. The only place that knows about exit codes; argv and the streams are
 * parameters so tests run it in-process.
 */
// yargs is bundled into the command (dist/bin/netmatrix.cjs), so its ESM entry costs nothing there.
import type { Argv } from 'yargs';
import yargs from 'yargs/yargs';
import { NetmatrixError, UsageError } from '../model/errors.js';
import { escapeText } from '../report/escape.js';
import { analyzeCommand } from './commands/analyze.js';
import { firewallCommand } from './commands/firewall.js';
import { inferCommand } from './commands/infer.js';
import { monitorCommand } from './commands/monitor.js';
import { rulesCommand } from './commands/rules.js';
import { verifyCommand } from './commands/verify.js';
import type { CliIO, CommandDefinition } from './options.js';

/** Adds one command to the parser; its exit status goes to `exit`. */
function register<A>(parser: Argv, def: CommandDefinition<A>, io: CliIO, exit: (code: number) => void): Argv {
  return parser.command(def.command, def.describe, def.builder, async (args) => {
    exit(await def.handler(args, io));
  });
}

/**
 * Runs the CLI; returns the exit status (0 ok, 1 violations, 2 usage/rules/input, 3 incomplete).
 * A NetmatrixError (usage, rules, capture) is one line on stderr and its exit code; anything else is
 * an internal error (exit 2, with the stack when NETMATRIX_DEBUG is set).
 */
export async function run(argv: string[], io: CliIO): Promise<number> {
  let code = 0;
  const exit = (c: number): void => {
    code = c;
  };
  let parser = yargs(argv).scriptName('netmatrix').usage('$0 <command> [options]');
  parser = register(parser, analyzeCommand, io, exit);
  parser = register(parser, monitorCommand, io, exit);
  parser = register(parser, verifyCommand, io, exit);
  parser = register(parser, rulesCommand, io, exit);
  parser = register(parser, inferCommand, io, exit);
  parser = register(parser, firewallCommand, io, exit);
  parser = parser
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
