/**
 * Report files: written beside the target under a temporary name and renamed at the end, so an
 * interrupted run leaves no half file. A target that exists and is not a regular file (/dev/null, a
 * FIFO, a terminal) is written in place: renaming over it as root replaced the system's /dev/null
 * with a regular file holding the report.
 */
import { closeSync, existsSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class OutputFile {
  private readonly fd: number;
  private readonly tmp: string | undefined;

  constructor(private readonly path: string) {
    let special = false;
    try {
      special = !statSync(path).isFile();
    } catch {
      special = false; // does not exist yet: a new regular file
    }
    this.tmp = special ? undefined : join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    this.fd = openSync(this.tmp ?? path, 'w');
  }

  write = (text: string): void => {
    writeSync(this.fd, text);
  };

  /** Done: the file takes its name. */
  commit(): void {
    closeSync(this.fd);
    if (this.tmp !== undefined) renameSync(this.tmp, this.path);
  }

  /** Failed: the temporary file goes away. */
  abort(): void {
    closeSync(this.fd);
    if (this.tmp !== undefined) unlinkSync(this.tmp);
  }
}

/** Writes a whole text file the same way. */
export function writeOutputFile(path: string, text: string): void {
  const out = new OutputFile(path);
  try {
    out.write(text);
  } catch (err) {
    out.abort();
    throw err;
  }
  out.commit();
}

/** True when both paths name one existing file (an output must not overwrite an input). */
export function sameFile(a: string, b: string): boolean {
  try {
    return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
