/**
 * netmatrix verify: replays fixture captures against their expectations (`x.pcap` + `x.expect.yaml`)
 * for CI. Missing and unexpected findings both fail; `--update` rewrites expectations from what is
 * observed, for a human to review in a diff.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { analyzeCaptures, type AnalysisResult } from '../engine/analyze.js';
import { analyzeRecords } from '../engine/records.js';
import { UsageError } from '../model/errors.js';
import type { JudgedFlow } from '../policy/judge.js';
import { loadInventoryFile, loadRuleSet } from '../policy/load.js';
import { compareFindings, findingKey, loadExpectation, observedFindings, type Expectation, type ExpectedFinding } from './expectation.js';

export interface VerifyResult {
  expectation: string;
  capture: string;
  passed: boolean;
  missing: string[];
  unexpected: string[];
  /** Expected and observed completeness, when they differ. */
  completeness?: { expected: boolean; observed: boolean };
  flows: number;
  seconds: number;
  observed: ExpectedFinding[];
  observedComplete: boolean;
}

const EXPECT = '.expect.yaml';

/** The capture beside an expectation: same stem, .pcap or .pcapng. */
export function captureFor(expectation: string): string {
  const stem = expectation.slice(0, -EXPECT.length);
  for (const ext of ['.pcap', '.pcapng']) if (existsSync(stem + ext)) return stem + ext;
  throw new UsageError(`${expectation}: no capture beside it (${basename(stem)}.pcap or .pcapng)`);
}

/** Expectation files named by the arguments: folders (searched recursively), expectations or captures. */
export function findExpectations(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(EXPECT)) out.push(p);
    }
  };
  for (const p of paths) {
    if (!existsSync(p)) throw new UsageError(`${p}: no such file or folder`);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(EXPECT)) out.push(p);
    else {
      const exp = p.replace(/\.pcap(ng)?$/, '') + EXPECT;
      if (!existsSync(exp)) throw new UsageError(`${p}: no expectation beside it (${basename(exp)})`);
      out.push(exp);
    }
  }
  if (out.length === 0) throw new UsageError(`no expectation files (*${EXPECT}) in ${paths.join(', ')}`);
  return out;
}

/** A capture's expectation (synchronous; record expectations need verifyExpectation). */
export function verifyOne(expectationFile: string): VerifyResult {
  const started = process.hrtime.bigint();
  const e = loadExpectation(expectationFile);
  if (e.records) throw new UsageError(`${expectationFile}: an expectation of flow records (input: ${e.input}); use verifyExpectation`);
  const capture = captureFor(expectationFile);
  const flows: JudgedFlow[] = [];
  const result = analyzeCaptures({
    files: [capture],
    rules: loadRuleSet(e.matrix, e.phase),
    inventory: loadInventoryFile(e.hosts),
    onFlow: (f) => {
      // Only what the comparison needs is kept: the flows with findings.
      if (f.findings.length > 0) flows.push(f);
    },
  });
  return compared(e, capture, flows, result, started);
}

/**
 * Any expectation: a capture beside it, or flow records it names (`input: zeek` and
 * `records: [conn.log, ssl.log]`, replayed with the same engine as `analyze --input`).
 */
export async function verifyExpectation(expectationFile: string): Promise<VerifyResult> {
  const e = loadExpectation(expectationFile);
  if (!e.records || !e.input) return verifyOne(expectationFile);
  const started = process.hrtime.bigint();
  const flows: JudgedFlow[] = [];
  const result = await analyzeRecords({
    input: e.input,
    files: e.records,
    rules: loadRuleSet(e.matrix, e.phase),
    inventory: loadInventoryFile(e.hosts),
    onFlow: (f) => {
      if (f.findings.length > 0) flows.push(f);
    },
  });
  return compared(e, e.records.join(', '), flows, result, started);
}

function compared(e: Expectation, capture: string, flows: JudgedFlow[], result: AnalysisResult, started: bigint): VerifyResult {
  const observed = observedFindings(flows, result.captureFindings);
  const cmp = compareFindings(e.findings, observed);
  const out: VerifyResult = {
    expectation: e.file,
    capture,
    passed: cmp.missing.length === 0 && cmp.unexpected.length === 0 && result.complete === e.complete,
    missing: cmp.missing,
    unexpected: cmp.unexpected,
    flows: result.flows.flows,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    observed,
    observedComplete: result.complete,
  };
  if (result.complete !== e.complete) out.completeness = { expected: e.complete, observed: result.complete };
  return out;
}

/** Rewrites an expectation's findings and completeness from what was observed, keeping the rest. */
export function updateExpectation(r: VerifyResult): void {
  const lines = readFileSync(r.expectation, 'utf8').split('\n');
  // Keep every top-level line before the findings (comments, description, matrix, phase, hosts...).
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (/^(findings|clean|complete):/.test(line)) {
      skipping = line.startsWith('findings:');
      continue;
    }
    if (skipping && (line.startsWith(' ') || line.startsWith('-') || line === '')) continue;
    skipping = false;
    if (line !== '') kept.push(line);
  }
  kept.push(`complete: ${r.observedComplete}`);
  const sorted = [...r.observed].sort((a, b) => findingKey(a).localeCompare(findingKey(b)));
  if (sorted.length === 0) kept.push('clean: true');
  else {
    kept.push('clean: false', 'findings:');
    for (const f of sorted) {
      kept.push(`  - code: ${f.code}`);
      if (f.rule !== undefined) kept.push(`    rule: ${f.rule}`);
      if (f.client !== undefined) kept.push(`    client: "${f.client}"`);
      if (f.server !== undefined) kept.push(`    server: "${f.server}"`);
    }
  }
  writeFileSync(r.expectation, `${kept.join('\n')}\n`);
}

function xml(s: string): string {
  // Control characters are not allowed in XML 1.0: shown as \xNN.
  // eslint-disable-next-line no-control-regex
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** JUnit XML as CI systems read it: one testsuite, one testcase per capture. */
export function junit(results: VerifyResult[], base: string): string {
  const failures = results.filter((r) => !r.passed).length;
  const total = results.reduce((n, r) => n + r.seconds, 0);
  const cases = results.map((r) => {
    const name = xml(relative(base, r.capture) || r.capture);
    const cls = xml(relative(base, dirname(r.capture)) || '.');
    const head = `    <testcase classname="${cls}" name="${name}" time="${r.seconds.toFixed(3)}"`;
    if (r.passed) return `${head}/>`;
    const detail = describeFailure(r);
    return `${head}>\n      <failure message="${xml(detail.split('\n')[0] ?? '')}" type="findings">${xml(detail)}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="netmatrix verify" tests="${results.length}" failures="${failures}" time="${total.toFixed(3)}">`,
    `  <testsuite name="netmatrix verify" tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${total.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export function describeFailure(r: VerifyResult): string {
  const parts: string[] = [];
  if (r.missing.length > 0) parts.push(`missing: ${r.missing.join('; ')}`);
  if (r.unexpected.length > 0) parts.push(`unexpected: ${r.unexpected.join('; ')}`);
  if (r.completeness) parts.push(`complete: expected ${r.completeness.expected}, observed ${r.completeness.observed}`);
  return parts.join('\n');
}
