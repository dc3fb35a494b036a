/**
 * Report files: written beside the target under a temporary name and renamed at the end, so an
 * interrupted run leaves no half file. A target that exists and is not a regular file (/dev/null, a
 * FIFO, a terminal) is written in place: renaming over it as root would replace the system's
 * /dev/null with a regular file holding the report.
 */
import { closeSync, existsSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Bytes gathered before they are handed on. */
const TEXT_BUFFER_BYTES = 256 * 1024;

/**
 * Report text gathered as UTF-8 in one reused buffer and handed on in large writes: a system call per
 * flow, or pieces concatenated into a long string that must be flattened and encoded again, cost
 * several times what encoding each piece once into a buffer costs.
 * `out` must consume the bytes before it returns: the buffer is reused.
 */
export class TextBuffer {
  private readonly buf = Buffer.allocUnsafe(TEXT_BUFFER_BYTES);
  private pos = 0;

  constructor(private readonly out: (bytes: Buffer) => void) {}

  write = (text: string): void => {
    const most = text.length * 3; // UTF-8 bytes per UTF-16 unit, at most
    if (most > this.buf.length - this.pos) {
      this.flush();
      if (most > this.buf.length) {
        this.out(Buffer.from(text, 'utf8'));
        return;
      }
    }
    this.pos += this.buf.write(text, this.pos);
  };

  /** Hands on what is gathered. */
  flush(): void {
    if (this.pos === 0) return;
    const bytes = this.buf.subarray(0, this.pos);
    this.pos = 0;
    this.out(bytes);
  }

  /** Forgets what is gathered (the output failed). */
  discard(): void {
    this.pos = 0;
  }
}

/** Writes all of `bytes` to a file descriptor (a pipe or FIFO may take them in parts). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

export class OutputFile {
  private readonly fd: number;
  private readonly tmp: string | undefined;
  private readonly text = new TextBuffer((bytes) => writeAll(this.fd, bytes));

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
    this.text.write(text);
  };

  /** Done: the file takes its name. */
  commit(): void {
    try {
      this.text.flush();
    } catch (err) {
      this.abort();
      throw err;
    }
    closeSync(this.fd);
    if (this.tmp !== undefined) renameSync(this.tmp, this.path);
  }

  /** Failed: the temporary file goes away. */
  abort(): void {
    this.text.discard();
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
