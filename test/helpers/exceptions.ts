/** The rows of a test's exceptions file: tab-separated, `#` comments and blank lines skipped. */
import { readFileSync } from 'node:fs';

export function readExceptionRows(path: string): string[][] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}
