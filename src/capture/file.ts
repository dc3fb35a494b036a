/**
 * Streaming reader for pcap / pcapng files: synchronous big-chunk reads, frames delivered as views
 * into the chunk buffer (valid only during the onFrame call), constant memory apart from the largest
 * record (bounded: 256 KiB for pcap, 16 MiB for pcapng blocks).
 *
 * Errors that throw: the file cannot be opened or read ('capture-io'); it is not a capture file or
 * its header is unusable ('capture-format'); anything thrown by onFrame / onInterface / onProgress.
 * Damage after the header does not throw: every frame before it is delivered and the summary says
 * complete=false with the reason in `stopped`.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CaptureError } from '../model/errors.js';
import type { RawFrame } from './frame.js';
import { MAX_PCAPNG_BLOCK, type CaptureParser } from './parser.js';
import { hex4, pcapMagic, PcapParser } from './pcap.js';
import { PcapngParser } from './pcapng.js';

export interface ReadSummary {
  file: string;
  format: 'pcap' | 'pcapng';
  /** Frames delivered to onFrame. */
  frames: number;
  /** Bytes read from the file (= fileSize when the whole file was read). */
  bytesRead: number;
  fileSize: number;
  /** False when reading stopped early or had to skip damage (resynchronise). */
  complete: boolean;
  /** Why reading stopped (or the first skipped problem), if not complete. */
  stopped?: CaptureError;
  /** Notes about damage and recovery; the first 20, then one line counting the rest. */
  warnings: string[];
}

export interface ReadOptions {
  /** Bytes per read (default 1 MiB). */
  chunkSize?: number;
  /**
   * Called for the pcap header / each pcapng IDB before the frames of that interface. May throw;
   * the throw propagates out of readCaptureFile.
   */
  onInterface?: (linkType: number, interfaceId: number, offset: number) => void;
  /** Called at most once per chunk read. */
  onProgress?: (bytesRead: number, fileSize: number) => void;
}

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
const MAX_WARNINGS = 20;

export function detectFormat(firstBytes: Uint8Array): 'pcap' | 'pcapng' | undefined {
  if (firstBytes.length < 4) return undefined;
  if (pcapMagic(firstBytes) !== undefined) return 'pcap';
  if (firstBytes[0] === 0x0a && firstBytes[1] === 0x0d && firstBytes[2] === 0x0d && firstBytes[3] === 0x0a) {
    return 'pcapng';
  }
  return undefined;
}

export function readCaptureFile(path: string, onFrame: (frame: RawFrame) => void, opts: ReadOptions = {}): ReadSummary {
  const requested = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const chunkSize = Number.isFinite(requested) ? Math.max(1, Math.floor(requested)) : DEFAULT_CHUNK_SIZE;
  const onProgress = opts.onProgress;

  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CaptureError('capture-io', path, undefined, `cannot open: ${errText(e)}`);
  }
  try {
    let fileSize: number;
    try {
      fileSize = fstatSync(fd).size;
    } catch (e) {
      throw new CaptureError('capture-io', path, undefined, `cannot stat: ${errText(e)}`);
    }

    let buf = new Uint8Array(chunkSize);
    let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let end = 0; // valid bytes in buf, starting at buf[0]
    let base = 0; // file offset of buf[0]
    let bytesRead = 0;
    let eof = false;

    const read = (): void => {
      const want = Math.min(chunkSize, buf.length - end);
      let n: number;
      try {
        n = readSync(fd, buf, end, want, base + end);
      } catch (e) {
        throw new CaptureError('capture-io', path, base + end, `cannot read: ${errText(e)}`);
      }
      if (n === 0) eof = true;
      else {
        end += n;
        bytesRead += n;
        onProgress?.(bytesRead, fileSize);
      }
    };

    // Format detection on the first 4 bytes.
    while (!eof && end < 4) {
      if (buf.length < 4) {
        buf = grow(buf, 4, end);
        view = new DataView(buf.buffer);
      }
      read();
    }
    const format = detectFormat(buf.subarray(0, end));
    if (format === undefined) {
      throw new CaptureError(
        'capture-format',
        path,
        0,
        end < 4 ? `not a pcap or pcapng file (only ${end} bytes)` : `not a pcap or pcapng file (magic 0x${hex4(buf, 0)})`,
      );
    }
    const parser: CaptureParser =
      format === 'pcap' ? new PcapParser(path, onFrame, opts.onInterface) : new PcapngParser(path, onFrame, opts.onInterface);

    for (;;) {
      const consumed = parser.push(buf, view, 0, end, base, eof);
      if (parser.done || eof) break;
      // Keep only the unconsumed tail, at the front of the buffer.
      if (consumed > 0) {
        if (consumed < end) buf.copyWithin(0, consumed, end);
        end -= consumed;
        base += consumed;
      }
      if (parser.need > buf.length) {
        buf = grow(buf, parser.need, end);
        view = new DataView(buf.buffer);
      }
      if (buf.length - end < chunkSize / 4 && buf.length < MAX_PCAPNG_BLOCK + chunkSize) {
        // Keep room for a real read. pcapng resynchronisation consumes a few bytes at a time while
        // each candidate block may ask for up to 16 MiB: with a full buffer, every 4-byte step would
        // cost a 16 MiB copy and a 4-byte read, and a crafted 18 MB file would never finish.
        buf = grow(buf, Math.min(end + chunkSize, MAX_PCAPNG_BLOCK + chunkSize), end);
        view = new DataView(buf.buffer);
      }
      if (end >= buf.length) {
        // Cannot happen with a correct parser (it consumed nothing yet needs no more than we hold).
        throw new Error(`capture reader stalled at byte ${base} of ${path}`);
      }
      read();
    }

    const problems = parser.problems;
    const stopped = parser.stopped ?? problems[0];
    const notes = parser.notes;
    const warnings = notes.slice(0, MAX_WARNINGS);
    const more = notes.length - warnings.length + parser.notesDropped;
    if (more > 0) warnings.push(`${more} more warnings not shown`);
    const summary: ReadSummary = {
      file: path,
      format,
      frames: parser.frames,
      bytesRead,
      fileSize,
      complete: stopped === undefined,
      warnings,
    };
    if (stopped !== undefined) summary.stopped = stopped;
    return summary;
  } finally {
    closeSync(fd);
  }
}

function grow(buf: Uint8Array<ArrayBuffer>, size: number, keep: number): Uint8Array<ArrayBuffer> {
  // Double (amortised), but never past what the parsers can ask for.
  const next = new Uint8Array(Math.max(size, Math.min(buf.length * 2, MAX_PCAPNG_BLOCK)));
  next.set(buf.subarray(0, keep));
  return next;
}

function errText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code !== undefined ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
