/**
 * Shared helpers for the capture tests: the public corpus's index, frame collection, temporary files.
 * Capture files are built by ../helpers/pcap.ts (classic pcap) and ../helpers/pcapng.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawFrame } from '../../src/capture/frame.js';
import { readCaptureFile, type ReadOptions, type ReadSummary } from '../../src/capture/file.js';
import { publicCorpus } from '../helpers/corpus.js';

export interface IndexRow {
  filename: string;
  capinfosFormat: string;
  linkType: string;
  /** Leading integer of the `packets` column. */
  packets: number;
  /** The whole `packets` column (has prose for files broken on purpose). */
  packetsText: string;
  category: string;
}

export function readIndex(): IndexRow[] {
  const lines = readFileSync(publicCorpus('INDEX.tsv'), 'utf8').split('\n').filter((l) => l.length > 0);
  const head = lines[0]!.split('\t');
  const col = (name: string): number => {
    const i = head.indexOf(name);
    if (i < 0) throw new Error(`INDEX.tsv has no column ${name}`);
    return i;
  };
  const [fi, ci, li, pi, cati] = [col('filename'), col('capinfos_format'), col('link_type'), col('packets'), col('category')];
  return lines.slice(1).map((l) => {
    const f = l.split('\t');
    const packetsText = f[pi]!;
    return {
      filename: f[fi]!,
      capinfosFormat: f[ci]!,
      linkType: f[li]!,
      packets: Number.parseInt(packetsText, 10),
      packetsText,
      category: f[cati]!,
    };
  });
}

/** A frame with its data copied out of the reader's buffer. */
export interface CopiedFrame extends RawFrame {}

export function copyFrame(f: RawFrame): CopiedFrame {
  return { ...f, data: f.data.slice() };
}

export interface ReadResult {
  summary: ReadSummary;
  frames: CopiedFrame[];
  interfaces: [number, number, number][];
}

export function readAll(path: string, opts: ReadOptions = {}): ReadResult {
  const frames: CopiedFrame[] = [];
  const interfaces: [number, number, number][] = [];
  const summary = readCaptureFile(path, (f) => frames.push(copyFrame(f)), {
    ...opts,
    onInterface: (lt, id, off) => {
      interfaces.push([lt, id, off]);
      opts.onInterface?.(lt, id, off);
    },
  });
  return { summary, frames, interfaces };
}

/** One line per frame with every field and a digest of the bytes (much faster to compare than deep equality). */
export function fingerprint(frames: readonly RawFrame[]): string[] {
  return frames.map(
    (f) =>
      `@${f.offset} if${f.interfaceId} lt${f.linkType} ${f.tsSec}.${f.tsNsec} ${f.caplen}/${f.origLen} ` +
      `${f.data.length} ${createHash('sha1').update(f.data).digest('hex')}`,
  );
}

/** "sec.nnnnnnnnn" as tshark prints frame.time_epoch. */
export function epoch(f: RawFrame): string {
  return `${f.tsSec}.${String(f.tsNsec).padStart(9, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Temporary files

export class TmpDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'netmatrix-capture-'));
  private n = 0;
  write(name: string, bytes: Uint8Array | string): string {
    const p = join(this.dir, `${this.n++}-${name}`);
    writeFileSync(p, bytes);
    return p;
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** n bytes of recognisable payload. */
export function payload(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return b;
}
