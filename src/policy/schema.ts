/**
 * The communication matrix as data: the shape of a rules file and its validation. A file that fails
 * validation is rejected whole (RulesError naming file, line and field); nothing is analysed with a
 * half-valid rule set.
 */
import type { Node } from 'yaml';
import { ROLES, SERVICES, type Role, type Service, type Transport } from '../model/vocabulary.js';
import { YamlSource } from './yaml-fields.js';

/** Services without a payload signature: recognised by the matrix's ports only. */
export const PORT_ONLY_SERVICES: ReadonlySet<Service> = new Set<Service>(['mpspdz']);

export interface PortRange {
  lo: number;
  hi: number;
}

export interface MatrixRow {
  id: string;
  from: Role[];
  to: Role[];
  transport: Transport[];
  ports: PortRange[];
  /** Services the payload may show; the first is the row's own service. */
  service: Service[];
  /** When set and the client offers ALPN, one of these must be offered. */
  alpn?: string[];
  type: 'backend' | 'user';
  status: 'mandatory' | 'optional';
  localOnly: boolean;
  mustClose: boolean;
  /** `underlay` (default) or `tunnel`: rows for flows inside the VPN's inner network. */
  via: 'underlay' | 'tunnel';
  phase: 'run' | 'install';
  comment?: string;
  /** file:line of the row, for reports. */
  source: string;
}

export interface ScopeRow {
  id: string;
  transport: Transport[];
  ports: PortRange[];
  comment?: string;
  source: string;
}

export interface RuleFile {
  matrix: string;
  title: string;
  phase: 'run' | 'install' | 'any';
  include: string[];
  rows: MatrixRow[];
  outOfScope: ScopeRow[];
  file: string;
}

export function portsContain(ranges: readonly PortRange[], port: number): boolean {
  for (const r of ranges) if (port >= r.lo && port <= r.hi) return true;
  return false;
}

export function formatPorts(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.lo === r.hi ? String(r.lo) : r.hi === 65535 ? `${r.lo}+` : `${r.lo}-${r.hi}`)).join(',');
}

const TOP_KEYS = ['matrix', 'title', 'phase', 'include', 'rows', 'out-of-scope'] as const;
const ROW_KEYS = [
  'id',
  'from',
  'to',
  'transport',
  'ports',
  'service',
  'alpn',
  'type',
  'status',
  'local-only',
  'must-close',
  'via',
  'comment',
] as const;
const SCOPE_KEYS = ['id', 'transport', 'ports', 'comment'] as const;

function oneOf<T extends string>(src: YamlSource, value: string, node: Node, path: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    src.fail(node, path, `"${value}" is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function parsePorts(src: YamlSource, items: { value: string; node: Node }[], path: string): PortRange[] {
  return items.map(({ value, node }) => {
    const m = /^(\d+)(?:(\+)|-(\d+))?$/.exec(value.trim());
    if (!m) src.fail(node, path, `"${value}" is not a port, a range "A-B" or an open range "A+"`);
    const lo = Number(m[1]);
    const hi = m[2] ? 65535 : m[3] !== undefined ? Number(m[3]) : lo;
    if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535) src.fail(node, path, `port ${value} is outside 1-65535`);
    if (hi < lo) src.fail(node, path, `port range ${value} is out of order`);
    return { lo, hi };
  });
}

export function parseRuleFile(file: string, text: string): RuleFile {
  const src: YamlSource = new YamlSource(file, text);
  const top = src.map(src.root, '', TOP_KEYS);
  const matrix = src.str(top, 'matrix', 'matrix', true);
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(matrix)) src.fail(src.get(top, 'matrix'), 'matrix', 'name must be lower-case letters, digits, "." and "-"');
  const title = src.str(top, 'title', '') ?? matrix;
  const phaseText = src.str(top, 'phase', '') ?? 'run';
  const phase = oneOf(src, phaseText, src.get(top, 'phase') ?? top, 'phase', ['run', 'install', 'any'] as const);
  const include = (src.list(top, 'include', '', false) ?? []).map((i) => i.value);

  const rows: MatrixRow[] = [];
  const ids = new Set<string>();
  const rowNodes = src.seq(top, 'rows', '') ?? [];
  rowNodes.forEach((rowNode, i) => {
    const path = `rows[${i}]`;
    const m = src.map(rowNode, path, ROW_KEYS);
    const id = src.str(m, 'id', path, true);
    const rowPath = `${path} (${id})`;
    if (ids.has(id)) src.fail(src.get(m, 'id'), `${path}.id`, `duplicate row id "${id}"`);
    ids.add(id);
    const roles = (key: 'from' | 'to'): Role[] =>
      (src.list(m, key, rowPath, true) ?? []).map(({ value, node }) => oneOf(src, value, node, `${rowPath}.${key}`, ROLES));
    const from = roles('from');
    const to = roles('to');
    const transport = (src.list(m, 'transport', rowPath, true) ?? []).map(({ value, node }) =>
      oneOf(src, value, node, `${rowPath}.transport`, ['tcp', 'udp'] as const),
    );
    const ports = parsePorts(src, src.list(m, 'ports', rowPath, true) ?? [], `${rowPath}.ports`);
    const service = (src.list(m, 'service', rowPath, true) ?? []).map(({ value, node }) =>
      oneOf(src, value, node, `${rowPath}.service`, SERVICES),
    );
    const alpn = src.list(m, 'alpn', rowPath, false)?.map((a) => a.value);
    const typeNode = src.get(m, 'type');
    const type = oneOf(src, src.str(m, 'type', rowPath, true), typeNode ?? m, `${rowPath}.type`, ['backend', 'user'] as const);
    const statusNode = src.get(m, 'status');
    const status = oneOf(src, src.str(m, 'status', rowPath, true), statusNode ?? m, `${rowPath}.status`, [
      'mandatory',
      'optional',
    ] as const);
    const localOnly = src.bool(m, 'local-only', rowPath) ?? false;
    const mustClose = src.bool(m, 'must-close', rowPath) ?? false;
    const viaText = src.str(m, 'via', rowPath) ?? 'underlay';
    const via = oneOf(src, viaText, src.get(m, 'via') ?? m, `${rowPath}.via`, ['underlay', 'tunnel'] as const);
    const comment = src.str(m, 'comment', rowPath);
    if (localOnly && !from.includes('localhost')) {
      src.fail(src.get(m, 'from'), `${rowPath}.from`, 'a local-only row must come from localhost');
    }
    if (from.includes('localhost') && !localOnly) {
      src.fail(src.get(m, 'from'), `${rowPath}.from`, 'a row from localhost must be local-only: true');
    }
    if (phase === 'any') src.fail(rowNode, rowPath, 'a rule file with matrix rows needs phase run or install');
    const row: MatrixRow = {
      id,
      from,
      to,
      transport,
      ports,
      service,
      type,
      status,
      localOnly,
      mustClose,
      via,
      phase: phase === "install" ? "install" : "run",
      source: `${file}:${src.lineOf(rowNode)}`,
    };
    if (alpn) row.alpn = alpn;
    if (comment !== undefined) row.comment = comment;
    rows.push(row);
  });

  const outOfScope: ScopeRow[] = [];
  (src.seq(top, 'out-of-scope', '') ?? []).forEach((node, i) => {
    const path = `out-of-scope[${i}]`;
    const m = src.map(node, path, SCOPE_KEYS);
    const id = src.str(m, 'id', path, true);
    if (ids.has(id)) src.fail(src.get(m, 'id'), `${path}.id`, `duplicate row id "${id}"`);
    ids.add(id);
    const transport = (src.list(m, 'transport', path, true) ?? []).map(({ value, node: n }) =>
      oneOf(src, value, n, `${path}.transport`, ['tcp', 'udp'] as const),
    );
    const ports = parsePorts(src, src.list(m, 'ports', path, true) ?? [], `${path}.ports`);
    const comment = src.str(m, 'comment', path);
    const row: ScopeRow = { id, transport, ports, source: `${file}:${src.lineOf(node)}` };
    if (comment !== undefined) row.comment = comment;
    outOfScope.push(row);
  });

  if (rows.length === 0 && outOfScope.length === 0) src.fail(src.root, 'rows', 'a rule file needs at least one row');
  return { matrix, title, phase, include, rows, outOfScope, file };
}
