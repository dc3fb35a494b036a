/**
 * `netmatrix firewall --matrix NAME|FILE --hosts FILE --role node|researcher|vpnserver
 *  [--format nft|iptables] [--phase run|install]`: prints the host firewall that enforces the matrix
 * for that role (see src/policy/firewall.ts for what it allows). Warnings (rows not opened because the
 * inventory has no address for a peer role) go to stderr; the ruleset goes to stdout.
 */
import { NetmatrixError } from '../model/errors.js';
import { escapeText } from '../report/escape.js';
import { firewallRuleset, type FirewallFormat } from '../firewall/firewall.js';
import { loadInventoryFile, loadRuleSet } from '../policy/load.js';
import type { ComponentRole } from '../model/vocabulary.js';
import type { CliIO } from './run.js';

export interface FirewallArgs {
  matrix: string;
  hosts: string;
  role: ComponentRole;
  /** `iptables` prints iptables-restore text for IPv4; `ip6tables` the same for IPv6. */
  format: FirewallFormat;
  phase: 'run' | 'install';
}

export function runFirewall(args: FirewallArgs, io: CliIO): number {
  try {
    const rules = loadRuleSet(args.matrix, args.phase);
    const inventory = loadInventoryFile(args.hosts);
    const { text, warnings } = firewallRuleset(rules, inventory, args.role, args.format);
    for (const w of warnings) io.stderr(`netmatrix: warning: ${escapeText(w)}\n`);
    if (args.format === 'iptables' && inventory.hosts.some((h) => h.cidrs.some((c) => c.version === 6))) {
      io.stderr('netmatrix: warning: the inventory has IPv6 addresses; --format iptables covers IPv4 only (use --format nft, or ip6tables)\n');
    }
    io.stdout(text);
    return 0;
  } catch (err) {
    if (err instanceof NetmatrixError) {
      io.stderr(`netmatrix: ${escapeText(err.message)}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
