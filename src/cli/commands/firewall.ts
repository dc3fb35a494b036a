/**
 * `netmatrix firewall --matrix NAME|FILE --hosts FILE --role node|researcher|vpnserver
 *  [--format nft|iptables|ip6tables] [--phase run|install]`: prints the host firewall that enforces
 * the matrix for that role (see src/firewall/firewall.ts for what it allows). Warnings (rows not
 * opened because the inventory has no address for a peer role) go to stderr; the ruleset to stdout.
 * `iptables` prints iptables-restore text for IPv4; `ip6tables` the same for IPv6.
 */
import type { Argv } from 'yargs';
import { loadInventoryFile, loadRuleSet } from '../../policy/load.js';
import { escapeText } from '../../report/escape.js';
import type { ArgsOf, CliIO, CommandDefinition } from '../options.js';

const builder = (y: Argv) =>
  y
    .option('matrix', { type: 'string', default: 'native', describe: 'rule set name or YAML file' })
    .option('phase', { choices: ['run', 'install'] as const, default: 'run' as const })
    .option('hosts', { type: 'string', demandOption: true, describe: 'inventory YAML file' })
    .option('role', { choices: ['node', 'researcher', 'vpnserver'] as const, demandOption: true, describe: 'the role of the host the firewall is for' })
    .option('format', { choices: ['nft', 'iptables', 'ip6tables'] as const, default: 'nft' as const });

export type FirewallArgs = ArgsOf<typeof builder>;

export async function runFirewall(args: FirewallArgs, io: CliIO): Promise<number> {
  // Loaded on demand: the other commands never pay for the ruleset printers.
  const { firewallRuleset } = await import('../../firewall/firewall.js');
  const rules = loadRuleSet(args.matrix, args.phase);
  const inventory = loadInventoryFile(args.hosts);
  const { text, warnings } = firewallRuleset(rules, inventory, args.role, args.format);
  for (const w of warnings) io.stderr(`netmatrix: warning: ${escapeText(w)}\n`);
  if (args.format === 'iptables' && inventory.hosts.some((h) => h.cidrs.some((c) => c.version === 6))) {
    io.stderr('netmatrix: warning: the inventory has IPv6 addresses; --format iptables covers IPv4 only (use --format nft, or ip6tables)\n');
  }
  io.stdout(text);
  return 0;
}

export const firewallCommand: CommandDefinition<FirewallArgs> = {
  command: 'firewall',
  describe: 'print the host firewall (nftables or iptables) that enforces the matrix for one role',
  builder,
  handler: runFirewall,
};
