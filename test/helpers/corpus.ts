/**
 * The public corpus: real captures written by other projects (see its README.md and INDEX.tsv), kept
 * outside the repository in ../shared/captures/public (relative to the project root). This module is
 * the only place that names it.
 *
 * A clone alone has no ../shared: the tests that read the corpus are declared with corpusIt and
 * corpusDescribe, which skip them by name, the title saying why, when the folder is absent. Under CI
 * (CI set, and not "false" or "0") the corpus must be there: the same tests fail with one message
 * saying so. Nothing is read when this module is loaded; the folder's existence is checked once, when
 * the first test is declared.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, it, type TestFunction } from 'vitest';

/** The corpus as messages name it: relative to the project root. */
export const PUBLIC_CORPUS = '../shared/captures/public';

const DIR = fileURLToPath(new URL('../../../shared/captures/public', import.meta.url));

/** What a skipped test's title ends with. */
export const CORPUS_SKIP_NOTE = `(skipped: ${PUBLIC_CORPUS} is absent; CI requires it)`;

let present: boolean | undefined;

/** Whether the corpus folder exists (checked once). */
export function hasPublicCorpus(): boolean {
  present ??= existsSync(DIR);
  return present;
}

/** Whether the corpus is required: CI is set to anything but "", "false" or "0". */
export function corpusRequired(): boolean {
  const ci = (process.env.CI ?? '').trim().toLowerCase();
  return ci !== '' && ci !== 'false' && ci !== '0';
}

function absentError(): Error {
  return corpusRequired()
    ? new Error(`the public corpus ${PUBLIC_CORPUS} (${DIR}) is absent, and CI (CI=${process.env.CI}) requires it beside the checkout`)
    : new Error(`the public corpus ${PUBLIC_CORPUS} (${DIR}) is absent: declare this test with corpusIt or corpusDescribe (test/helpers/corpus.ts)`);
}

/** The corpus folder, or one of its files. Throws when the folder is absent. */
export function publicCorpus(name?: string): string {
  if (!hasPublicCorpus()) throw absentError();
  return name === undefined ? DIR : join(DIR, name);
}

/**
 * Test cases drawn from the corpus (file lists, INDEX.tsv rows) while tests are being declared:
 * make() is called only when the corpus is there, else there are none.
 */
export function corpusCases<T>(make: () => readonly T[]): readonly T[] {
  return hasPublicCorpus() ? make() : [];
}

/** beforeAll that runs only when the corpus is there (it loads what corpus tests share). */
export function corpusBeforeAll(fn: () => void | Promise<void>, timeout?: number): void {
  beforeAll(async () => {
    if (hasPublicCorpus()) await fn();
  }, timeout);
}

/** A test that reads the corpus: run when it is there, skipped by name when not, failed under CI. */
export function corpusIt(title: string, fn: TestFunction, timeout?: number): void {
  if (hasPublicCorpus()) it(title, fn, timeout);
  else if (corpusRequired()) {
    it(title, () => {
      throw absentError();
    });
  } else it.skip(`${title} ${CORPUS_SKIP_NOTE}`, fn, timeout);
}

/**
 * A group of tests that all read the corpus. When it is absent the group is skipped under a title
 * saying why (the factory still runs to name the tests, so it must not read the corpus itself: use
 * corpusCases and corpusBeforeAll); under CI it is one failing test with the reason instead.
 */
export function corpusDescribe(title: string, factory: () => void): void {
  if (hasPublicCorpus()) describe(title, factory);
  else if (corpusRequired()) {
    it(title, () => {
      throw absentError();
    });
  } else describe.skip(`${title} ${CORPUS_SKIP_NOTE}`, factory);
}
