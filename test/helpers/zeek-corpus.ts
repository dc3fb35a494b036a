/**
 * Zeek's own test traces with the conn.log Zeek wrote for each (see its README.md and INDEX.tsv), kept
 * outside the repository in ../shared/captures/zeek (relative to the project root). This module is the
 * only place that names it, in the pattern of corpus.ts: the tests that read it are declared with
 * zeekDescribe / zeekIt, skipped by name outside CI when the folder is absent, failed under CI.
 *
 * It also reads Zeek's TSV logs as far as the differential test needs: the `#separator` line (an
 * escaped character such as \x09), `#fields`, `#unset_field` ('-') and `#empty_field` ('(empty)').
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { corpusRequired } from './corpus.js';

/** The corpus as messages name it: relative to the project root. */
export const ZEEK_CORPUS = '../shared/captures/zeek';

const DIR = fileURLToPath(new URL('../../../shared/captures/zeek', import.meta.url));

export const ZEEK_SKIP_NOTE = `(skipped: ${ZEEK_CORPUS} is absent; CI requires it)`;

let present: boolean | undefined;

export function hasZeekCorpus(): boolean {
  present ??= existsSync(DIR);
  return present;
}

function absentError(): Error {
  return corpusRequired()
    ? new Error(`Zeek's traces ${ZEEK_CORPUS} (${DIR}) are absent, and CI (CI=${process.env.CI}) requires them beside the checkout`)
    : new Error(`Zeek's traces ${ZEEK_CORPUS} (${DIR}) are absent: declare this test with zeekIt or zeekDescribe (test/helpers/zeek-corpus.ts)`);
}

/** The folder, or one of its files. Throws when the folder is absent. */
export function zeekCorpus(name?: string): string {
  if (!hasZeekCorpus()) throw absentError();
  return name === undefined ? DIR : join(DIR, name);
}

/** Cases drawn from the folder while tests are declared: none when it is absent. */
export function zeekCases<T>(make: () => readonly T[]): readonly T[] {
  return hasZeekCorpus() ? make() : [];
}

/** A group of tests that read the folder: run when it is there, skipped by name when not, failed under CI. */
export function zeekDescribe(title: string, factory: () => void): void {
  if (hasZeekCorpus()) describe(title, factory);
  else if (corpusRequired()) {
    it(title, () => {
      throw absentError();
    });
  } else describe.skip(`${title} ${ZEEK_SKIP_NOTE}`, factory);
}

/** One row of INDEX.tsv: a trace and the conn.log Zeek wrote for it. */
export interface ZeekTrace {
  name: string;
  trace: string;
  baseline: string;
}

export function zeekIndex(): ZeekTrace[] {
  const lines = readFileSync(zeekCorpus('INDEX.tsv'), 'utf8').trim().split('\n');
  const head = (lines.shift() ?? '').split('\t');
  const col = (name: string): number => {
    const i = head.indexOf(name);
    if (i < 0) throw new Error(`${ZEEK_CORPUS}/INDEX.tsv: no column ${name}`);
    return i;
  };
  return lines.map((l) => {
    const f = l.split('\t');
    return { name: f[col('name')] ?? '', trace: f[col('trace_file')] ?? '', baseline: f[col('baseline_file')] ?? '' };
  });
}

/** A Zeek log row: field name -> value, with Zeek's unset ('-') as undefined and its empty marker as ''. */
export type ZeekRow = Record<string, string | undefined>;

/** Reads a Zeek TSV log (its header lines say how); `file` names it in errors. */
export function parseZeekTsv(file: string, text: string): ZeekRow[] {
  let separator = '\t';
  let unset = '-';
  let empty = '(empty)';
  let fields: string[] | undefined;
  const rows: ZeekRow[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    if (line.startsWith('#separator ')) {
      separator = line.slice('#separator '.length).replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      return;
    }
    if (line.startsWith('#')) {
      const [key, ...values] = line.split(separator);
      if (key === '#fields') fields = values;
      else if (key === '#unset_field') unset = values[0] ?? unset;
      else if (key === '#empty_field') empty = values[0] ?? empty;
      return;
    }
    if (!fields) throw new Error(`${file}:${i + 1}: a record before the #fields line`);
    const values = line.split(separator);
    if (values.length !== fields.length) throw new Error(`${file}:${i + 1}: ${values.length} fields, #fields names ${fields.length}`);
    const row: ZeekRow = {};
    fields.forEach((f, j) => {
      const v = values[j] as string;
      row[f] = v === unset ? undefined : v === empty ? '' : v;
    });
    rows.push(row);
  });
  return rows;
}
