/**
 * What `netmatrix analyze` owes its user whatever the capture (shared by fuzz.test.ts and
 * regressions.test.ts): an exit status 0-3; on 2 one line of error and no report; otherwise a report
 * in the requested format whose summary agrees with the exit status; never a stack trace, an internal
 * error or a raw control character; and an answer within the hang guard.
 */
import { run } from '../../src/cli/run.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function analyze(argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const t0 = performance.now();
  const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdoutIsTTY: false, stderrIsTTY: false });
  return { code, stdout, stderr, ms: performance.now() - t0 };
}

/** Raw control characters, C1 controls (0x9b is a CSI), line separators and bidi overrides. */
// eslint-disable-next-line no-control-regex
export const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Hang guard per run: a report of a capture under 200 KB takes milliseconds. */
export const HANG_GUARD_MS = 10_000;

interface Summary {
  exitCode: number;
  complete: boolean;
  frames: number;
  flows: number;
  flowTable: { evicted: number };
}

/** Everything a user may rely on, whatever the input. Returns a problem, or undefined. */
export function checkCliResult(r: CliResult, format: string): string | undefined {
  if (![0, 1, 2, 3].includes(r.code)) return `exit ${r.code}`;
  if (/internal error|\n\s+at |stalled/.test(r.stderr)) return `internal error or stack trace on stderr: ${r.stderr}`;
  if (RAW_CONTROL.test(r.stderr)) return 'raw control character on stderr';
  if (RAW_CONTROL.test(r.stdout)) return 'raw control character on stdout';
  if (r.ms > HANG_GUARD_MS) return `took ${Math.round(r.ms)} ms`;
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (lines.some((l) => !l.startsWith('netmatrix: '))) return `stray stderr line: ${r.stderr}`;
  if (r.code === 2) {
    if (lines.length !== 1) return `exit 2 with ${lines.length} stderr lines`;
    if (r.stdout !== '') return 'exit 2 with a report';
    return undefined;
  }
  let summary: Summary;
  try {
    if (format === 'json') {
      summary = (JSON.parse(r.stdout) as { summary: Summary }).summary;
    } else if (format === 'jsonl') {
      const records = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { record: string } & Summary);
      if (records[0]?.record !== 'header') return 'jsonl does not start with its header';
      const last = records.at(-1);
      if (last?.record !== 'summary') return 'jsonl does not end with its summary';
      if (records.filter((x) => x.record === 'flow').length !== last.flows) return 'jsonl flow records disagree with summary.flows';
      summary = last;
    } else {
      if (!/RESULT: (VIOLATIONS|compliant|no violation)/.test(r.stdout)) return 'table without a result line';
      const expected = r.code === 1 ? 'RESULT: VIOLATIONS' : r.code === 3 ? 'RESULT: no violation in what was read' : 'RESULT: compliant';
      return r.stdout.includes(expected) ? undefined : `table result disagrees with exit ${r.code}`;
    }
  } catch (e) {
    return `report is not valid ${format}: ${String(e)}`;
  }
  if (summary.exitCode !== r.code) return `summary.exitCode ${summary.exitCode} but exit ${r.code}`;
  if (r.code === 3 && summary.complete) return 'exit 3 but complete';
  if (!summary.complete && r.code === 0) return 'incomplete but exit 0';
  if (!summary.complete && !/incomplete/.test(r.stderr)) return 'incomplete without saying so on stderr';
  return undefined;
}
