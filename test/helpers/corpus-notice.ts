/**
 * Vitest global setup: without the public corpus, one line at the start of the run says why tests are
 * skipped (the default reporter counts skipped tests but does not name them).
 */
import { CORPUS_SKIP_NOTE, corpusRequired, hasPublicCorpus, PUBLIC_CORPUS } from './corpus.js';

export default function setup(): void {
  if (hasPublicCorpus()) return;
  process.stderr.write(
    corpusRequired()
      ? `netmatrix tests: ${PUBLIC_CORPUS} is absent and CI requires it: the tests that read it fail\n`
      : `netmatrix tests: ${PUBLIC_CORPUS} is absent: the tests that read it are skipped, their titles ending "${CORPUS_SKIP_NOTE}"\n`,
  );
}
