/**
 * Vitest global setup: without the public corpus or Zeek's traces, one line each at the start of the
 * run says why tests are skipped (the default reporter counts skipped tests but does not name them).
 */
import { CORPUS_SKIP_NOTE, corpusRequired, hasPublicCorpus, PUBLIC_CORPUS } from './corpus.js';
import { hasZeekCorpus, ZEEK_CORPUS, ZEEK_SKIP_NOTE } from './zeek-corpus.js';

function notice(folder: string, note: string): string {
  return corpusRequired()
    ? `netmatrix tests: ${folder} is absent and CI requires it: the tests that read it fail\n`
    : `netmatrix tests: ${folder} is absent: the tests that read it are skipped, their titles ending "${note}"\n`;
}

export default function setup(): void {
  if (!hasPublicCorpus()) process.stderr.write(notice(PUBLIC_CORPUS, CORPUS_SKIP_NOTE));
  if (!hasZeekCorpus()) process.stderr.write(notice(ZEEK_CORPUS, ZEEK_SKIP_NOTE));
}
