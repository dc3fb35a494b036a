/**
 * `netmatrix rules list|show NAME|check FILE`: the shipped rule sets, one printed per component as
 * the documentation page prints it (dir, source, destination, port, service, type, status, comment),
 * and validation of a user's own rule set. Output only goes through `io`; the exit code is returned.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../../model/errors.js';
import { COMPONENT_ROLES, type ComponentRole, type Role } from '../../model/vocabulary.js';
import { builtinMatrices, builtinRulesDir, loadRuleSet } from '../../policy/load.js';
import { formatPorts, parseRuleFile, type MatrixRow, type ScopeRow } from '../../policy/schema.js';
import { escapeText } from '../../report/escape.js';
import type { ArgsOf, CliIO, CommandDefinition } from '../options.js';

const builder = (y: Argv) =>
  y
    .positional('action', { choices: ['list', 'show', 'check'] as const, demandOption: true })
    .positional('name', { type: 'string', describe: 'rule set name (show) or YAML file (show, check)' });

export type RulesArgs = ArgsOf<typeof builder>;

const HEAD = ['dir', 'source', 'destination', 'port', 'service', 'type', 'status', 'comment'];

/** A bordered text table of escaped cells. */
type TableText = (head: string[], rows: string[][]) => string;

/** cli-table3 is loaded only when a table is printed: the other commands' start-up does not pay for it. */
async function tableText(): Promise<TableText> {
  const Table = (await import('cli-table3')).default;
  return (head, rows) => {
    const t = new Table({ head, style: { head: [], border: [], compact: false } });
    for (const r of rows) t.push(r.map(escapeText));
    return `${t.toString()}\n`;
  };
}

const SERVICE_WORDS: Record<string, string> = {
  tls: 'TLS',
  http: 'HTTP',
  h2c: 'h2c',
  wireguard: 'WireGuard',
  mpspdz: 'MP-SPDZ',
  unknown: 'any (not checked)',
};

/** The page's words: gRPC/TLS for the ALPN h2 row, HTTPS for a user GUI on TLS. */
function serviceWord(row: MatrixRow): string {
  const words = row.service.map((s, i) => {
    if (s === 'tls' && i === 0 && row.alpn?.includes('h2')) return 'gRPC/TLS';
    if (s === 'tls' && i === 0 && row.type === 'user') return 'HTTPS';
    return SERVICE_WORDS[s] ?? s;
  });
  const [first, ...rest] = words;
  return rest.length === 0 ? (first ?? '') : `${first ?? ''} (or ${rest.join(', ')})`;
}

function portWord(transports: readonly string[], ports: ScopeRow['ports']): string {
  return transports.map((t) => `${t.toUpperCase()}/${formatPorts(ports)}`).join(' ');
}

/** A role as seen from component `self`: the component's own name, "other nodes", "nodes", ... */
function roleWord(role: Role, self: ComponentRole, ownSide: boolean): string {
  if (ownSide && role === self) return self;
  if (role === self) return `other ${self}s`;
  if (role === 'node') return 'nodes';
  if (role === 'internet') return 'Internet';
  return role;
}

interface Line {
  dir: 'out' | 'in';
  source: string[];
  destination: string[];
  rest: string[];
}

/** The lines of one component's table, in file order; lines that differ only by source or destination are merged ("other nodes + researcher"). */
function componentLines(rows: readonly MatrixRow[], self: ComponentRole): Line[] {
  const lines: Line[] = [];
  const push = (line: Line): void => {
    const key = (l: Line, side: 'source' | 'destination'): string => JSON.stringify([l.dir, side === 'source' ? l.destination : l.source, l.rest]);
    for (const side of ['source', 'destination'] as const) {
      const same = lines.find((l) => key(l, side) === key(line, side));
      if (same) {
        for (const w of line[side]) if (!same[side].includes(w)) same[side].push(w);
        return;
      }
    }
    lines.push(line);
  };
  for (const row of rows) {
    let comment = row.comment ?? '';
    if (row.via === 'tunnel' && !/tunnel/i.test(comment)) comment = `${comment}${comment ? ' ' : ''}(inside the tunnel)`;
    const rest = [portWord(row.transport, row.ports), serviceWord(row), row.type, row.status, comment];
    if (row.from.includes(self)) {
      push({ dir: 'out', source: [self], destination: row.to.map((r) => roleWord(r, self, false)), rest });
    }
    if (row.to.includes(self)) {
      push({ dir: 'in', source: row.from.map((r) => roleWord(r, self, false)), destination: [self], rest });
    }
  }
  return lines;
}

interface Shown {
  name: string;
  title: string;
  files: string[];
  rows: MatrixRow[];
  outOfScope: ScopeRow[];
}

/** A shipped or user rule set; the installation and host-services files are shown as they are. */
function loadForShow(name: string): Shown {
  if (builtinMatrices().includes(name)) {
    const file = join(builtinRulesDir(), `${name}.yaml`);
    const parsed = parseRuleFile(file, readFileSync(file, 'utf8'));
    if (parsed.phase !== 'run') {
      return { name: parsed.matrix, title: parsed.title, files: [file], rows: parsed.rows, outOfScope: parsed.outOfScope };
    }
  }
  const set = loadRuleSet(name);
  return { name: set.name, title: set.title, files: set.files, rows: set.rows, outOfScope: set.outOfScope };
}

function show(name: string, table: TableText, io: CliIO): number {
  const set = loadForShow(name);
  io.stdout(`${escapeText(set.name)}: ${escapeText(set.title)}\n`);
  io.stdout(`files: ${set.files.map(escapeText).join(', ')}\n`);
  for (const component of COMPONENT_ROLES) {
    const lines = componentLines(set.rows, component);
    if (lines.length === 0) continue;
    io.stdout(`\nOn the ${component} component:\n`);
    io.stdout(table(HEAD, lines.map((l) => [l.dir, l.source.join(' + '), l.destination.join(' + '), ...l.rest])));
  }
  if (set.outOfScope.length > 0) {
    io.stdout('\nOut of the matrix scope (reported as out-of-scope, never as violations):\n');
    io.stdout(table(['port', 'comment'], set.outOfScope.map((r) => [portWord(r.transport, r.ports), r.comment ?? r.id])));
  }
  return 0;
}

function list(table: TableText, io: CliIO): number {
  const rows = builtinMatrices().map((name) => {
    const file = join(builtinRulesDir(), `${name}.yaml`);
    const parsed = parseRuleFile(file, readFileSync(file, 'utf8'));
    return [name, parsed.title, join('rules', `${name}.yaml`)];
  });
  io.stdout(table(['name', 'title', 'file'], rows));
  return 0;
}

function check(file: string, io: CliIO): number {
  const set = loadRuleSet(file);
  io.stdout(`${escapeText(file)}: ${set.rows.length} rows, valid\n`);
  return 0;
}

export async function runRules(args: RulesArgs, io: CliIO): Promise<number> {
  switch (args.action) {
    case 'list':
      return list(await tableText(), io);
    case 'show':
      if (!args.name) throw new UsageError(`rules show: give a rule set name (${builtinMatrices().join(', ')}) or a YAML file`);
      return show(args.name, await tableText(), io);
    case 'check':
      if (!args.name) throw new UsageError('rules check: give a rule set file');
      return check(args.name, io);
  }
}

export const rulesCommand: CommandDefinition<RulesArgs> = {
  command: 'rules <action> [name]',
  describe: 'the shipped matrices: list, show NAME (per component, as the documentation prints it), check FILE',
  builder,
  handler: runRules,
};
