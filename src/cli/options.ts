/**
 * What the commands share: the streams they write to (CliIO), the shape of a command definition,
 * the matrix/inventory and memory-bound options, and the inventory built from those options.
 */
import type { ArgumentsCamelCase, Argv, InferredOptionTypes } from 'yargs';
import { UsageError } from '../model/errors.js';
import { inventoryFromFlags, mergeInventories, type Inventory } from '../policy/inventory.js';
import { builtinMatrices, loadInventoryFile } from '../policy/load.js';

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

/**
 * One command: its yargs syntax and description, the builder declaring its options (the handler's
 * argument type is inferred from it), and the handler. The handler returns the exit status and
 * throws NetmatrixError for anything the user must fix: run.ts alone turns errors into exit codes.
 */
export interface CommandDefinition<A> {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<A>;
  /** Declared with the plain argument type `A` in each command (yargs adds camelCase aliases and `_`, `$0`). */
  handler: (args: ArgumentsCamelCase<A>, io: CliIO) => Promise<number> | number;
}

/** The arguments a builder declares. */
export type ArgsOf<B> = B extends (y: Argv) => Argv<infer A> ? A : never;

/** Memory bounds, shared by analyze and monitor. */
export const boundOptions = {
  'max-flows': { type: 'number', default: 100_000, describe: 'live flows kept at most; the oldest is evicted and counted beyond it' },
  'max-fragment-bytes': { type: 'number', default: 8 * 1024 * 1024, describe: 'bytes of IP fragments buffered at most; the oldest datagram is dropped and counted beyond it' },
} as const;

export function checkBounds(args: InferredOptionTypes<typeof boundOptions>): void {
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

export type MatrixArgs = InferredOptionTypes<typeof matrixOptions>;

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
