/**
 * Expectation files beside fixture captures (`x.pcap` + `x.expect.yaml`): the matrix, inventory and
 * phase to judge with, and the distinct findings expected (or `clean: true`). Shared by the project's
 * own fixture tests and the verify command.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RulesError } from '../model/errors.js';
import type { CaptureFinding, JudgedFlow } from '../policy/judge.js';
import { FINDING_CODES } from '../policy/judge.js';
import { YamlSource } from '../policy/yaml-fields.js';

export interface ExpectedFinding {
  code: string;
  client?: string;
  server?: string;
  rule?: string;
}

export interface Expectation {
  file: string;
  description?: string;
  matrix: string;
  phase: 'run' | 'install';
  /** Inventory file, resolved against the expectation's folder. */
  hosts: string;
  complete: boolean;
  findings: ExpectedFinding[];
  /** Flow records instead of a capture: what they are (`input: zeek|netflow|netflow-csv`)... */
  input?: 'zeek' | 'netflow' | 'netflow-csv';
  /** ...and the files (`records: [conn.log, ssl.log]`), resolved against the expectation's folder. */
  records?: string[];
}

const RECORD_INPUTS = ['zeek', 'netflow', 'netflow-csv'] as const;

export function loadExpectation(file: string): Expectation {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RulesError(`${file}: cannot read expectation (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const src: YamlSource = new YamlSource(file, text);
  const top = src.map(src.root, '', ['description', 'recorded-with', 'matrix', 'phase', 'hosts', 'complete', 'clean', 'findings', 'input', 'records']);
  const phase = src.str(top, 'phase', '') ?? 'run';
  if (phase !== 'run' && phase !== 'install') src.fail(src.get(top, 'phase'), 'phase', `"${phase}" is not run or install`);
  const clean = src.bool(top, 'clean', '') ?? false;
  const findings: ExpectedFinding[] = (src.seq(top, 'findings', '') ?? []).map((node, i) => {
    const path = `findings[${i}]`;
    const m = src.map(node, path, ['code', 'client', 'server', 'rule']);
    const code = src.str(m, 'code', path, true);
    if (!(FINDING_CODES as readonly string[]).includes(code)) src.fail(src.get(m, 'code'), `${path}.code`, `unknown finding code "${code}"`);
    const f: ExpectedFinding = { code };
    for (const key of ['client', 'server', 'rule'] as const) {
      const v = src.str(m, key, path);
      if (v !== undefined) f[key] = v;
    }
    return f;
  });
  if (clean && findings.length > 0) src.fail(src.get(top, 'clean'), 'clean', 'clean: true but findings are listed');
  const e: Expectation = {
    file,
    matrix: src.str(top, 'matrix', '') ?? 'native',
    phase,
    hosts: resolve(dirname(file), src.str(top, 'hosts', '', true)),
    complete: src.bool(top, 'complete', '') ?? true,
    findings,
  };
  const input = src.str(top, 'input', '');
  const records = src.list(top, 'records', '', false);
  if (input !== undefined && input !== 'pcap') {
    if (!(RECORD_INPUTS as readonly string[]).includes(input)) src.fail(src.get(top, 'input'), 'input', `"${input}" is not pcap, zeek, netflow or netflow-csv`);
    if (!records || records.length === 0) src.fail(src.get(top, 'input'), 'records', `input: ${input} needs records: [files]`);
    e.input = input as (typeof RECORD_INPUTS)[number];
    e.records = (records ?? []).map(({ value }) => resolve(dirname(file), value));
  } else if (records) src.fail(src.get(top, 'records'), 'records', 'records: needs input: zeek, netflow or netflow-csv');
  const description = src.str(top, 'description', '');
  if (description !== undefined) e.description = description;
  return e;
}

/** The key a finding is compared by: code + client IP + server IP:port, or code + row for capture findings. */
export function findingKey(f: ExpectedFinding): string {
  return f.rule !== undefined ? `${f.code} rule=${f.rule}` : `${f.code} ${f.client ?? '*'} -> ${f.server ?? '*'}`;
}

/** The distinct observed findings, in the expectation's shape. */
export function observedFindings(flows: Iterable<JudgedFlow>, capture: CaptureFinding[]): ExpectedFinding[] {
  const seen = new Map<string, ExpectedFinding>();
  for (const flow of flows) {
    for (const f of flow.findings) {
      const server = flow.server.ip.includes(':') ? `[${flow.server.ip}]:${flow.server.port}` : `${flow.server.ip}:${flow.server.port}`;
      const e: ExpectedFinding = { code: f.code, client: flow.client.ip, server };
      seen.set(findingKey(e), e);
    }
  }
  for (const f of capture) {
    const e: ExpectedFinding = { code: f.code, rule: f.rule };
    seen.set(findingKey(e), e);
  }
  return [...seen.values()];
}

export interface Comparison {
  missing: string[];
  unexpected: string[];
}

export function compareFindings(expected: ExpectedFinding[], observed: ExpectedFinding[]): Comparison {
  const exp = new Set(expected.map(findingKey));
  const obs = new Set(observed.map(findingKey));
  return {
    missing: [...exp].filter((k) => !obs.has(k)).sort(),
    unexpected: [...obs].filter((k) => !exp.has(k)).sort(),
  };
}
