/**
 * Text files read line by line with bounded memory: plain or gzip (detected by its magic bytes, so a
 * rotated `conn.00:00:00-01:00:00.log.gz` needs no particular name). Lines come in batches, one per
 * chunk read, so a caller awaits once per chunk, not once per line. A truncated or corrupt gzip stream
 * is a RecordError naming the file and the line it stopped in.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { RecordError } from './record.js';

/** A line longer than this is damage, not a record. */
export const MAX_LINE = 1024 * 1024;

/** Reads the first bytes of a file (format detection). */
export function fileHead(file: string, n: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new RecordError(file, undefined, `cannot open: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } catch (e) {
    throw new RecordError(file, undefined, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  } finally {
    closeSync(fd);
  }
}

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

export class LineReader {
  /** Number of the last line handed out (from 1). */
  line = 0;
  readonly gzip: boolean;
  private readonly raw: ReturnType<typeof createReadStream>;
  private readonly iter: AsyncIterator<Buffer>;
  private readonly stream: Readable;
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private batch: string[] = [];
  private index = 0;
  private eof = false;

  constructor(readonly file: string) {
    this.gzip = isGzip(fileHead(file, 2));
    const raw = createReadStream(file, { highWaterMark: 256 * 1024 });
    this.raw = raw;
    this.stream = this.gzip ? raw.pipe(createGunzip()) : raw;
    if (this.gzip) raw.on('error', (e) => this.stream.destroy(e));
    this.iter = this.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Bytes read from the file (compressed bytes for gzip). */
  get bytes(): number {
    return this.raw.bytesRead;
  }

  /** The next line (without its end), or undefined when the batch is used up: then call fill(). */
  next(): string | undefined {
    if (this.index >= this.batch.length) return undefined;
    this.line++;
    return this.batch[this.index++];
  }

  /** Reads the next chunk's lines; false at the end of the file. */
  async fill(): Promise<boolean> {
    this.batch = [];
    this.index = 0;
    while (this.batch.length === 0) {
      if (this.eof) return false;
      let r: IteratorResult<Buffer>;
      try {
        r = await this.iter.next();
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const what = this.gzip && (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) ? 'the gzip stream is truncated' : this.gzip ? `corrupt gzip data (${err.message})` : `cannot read: ${err.code ?? err.message}`;
        throw new RecordError(this.file, this.line + 1, what);
      }
      let text: string;
      if (r.done) {
        this.eof = true;
        text = this.rest + this.decoder.end();
        this.rest = '';
        if (text.length > 0) this.batch.push(text.endsWith('\r') ? text.slice(0, -1) : text);
        return this.batch.length > 0;
      }
      text = this.rest + this.decoder.write(r.value);
      const parts = text.split('\n');
      this.rest = parts.pop() ?? '';
      if (this.rest.length > MAX_LINE) throw new RecordError(this.file, this.line + parts.length + 1, `line longer than ${MAX_LINE} bytes`);
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i] as string;
        if (p.length > 0 && p.charCodeAt(p.length - 1) === 13) parts[i] = p.slice(0, -1);
      }
      this.batch = parts;
    }
    return true;
  }

  close(): void {
    this.stream.destroy();
  }
}
