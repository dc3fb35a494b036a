/** Shared helpers for the capture tests: the public corpus's index, frame collection, pcap/pcapng writers. */
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

// ---------------------------------------------------------------------------------------------
// Byte writers

export class Bytes {
  private parts: number[] = [];
  constructor(readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u64(v: bigint): this {
    const lo = Number(BigInt.asUintN(64, v) & 0xffffffffn);
    const hi = Number((BigInt.asUintN(64, v) >> 32n) & 0xffffffffn);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i]!);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface PcapRecord {
  sec: number;
  frac: number;
  data: Uint8Array;
  origLen?: number;
  /** Overrides the caplen field (for damage). */
  caplen?: number;
}

export function buildPcap(opts: {
  le?: boolean;
  nano?: boolean;
  snaplen?: number;
  linkType?: number;
  records: PcapRecord[];
}): Uint8Array {
  const w = new Bytes(opts.le ?? true);
  w.u32(opts.nano === true ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0);
  w.u32(opts.snaplen ?? 262144).u32(opts.linkType ?? 1);
  for (const r of opts.records) {
    w.u32(r.sec).u32(r.frac).u32(r.caplen ?? r.data.length).u32(r.origLen ?? r.data.length).raw(r.data);
  }
  return w.bytes();
}

/** Converts a classic pcap file from one byte order to the other (header fields and record headers). */
export function swapPcap(src: Uint8Array): Uint8Array {
  const out = Uint8Array.from(src);
  const v = new DataView(out.buffer);
  const le = src[0] === 0xd4 || src[0] === 0x4d;
  const sw32 = (at: number): void => v.setUint32(at, v.getUint32(at, le), !le);
  const sw16 = (at: number): void => v.setUint16(at, v.getUint16(at, le), !le);
  sw32(0);
  sw16(4);
  sw16(6);
  for (const at of [8, 12, 16, 20]) sw32(at);
  let off = 24;
  while (off + 16 <= out.length) {
    const caplen = v.getUint32(off + 8, le);
    for (const at of [0, 4, 8, 12]) sw32(off + at);
    off += 16 + caplen;
  }
  return out;
}

export interface Opt {
  code: number;
  value: Uint8Array;
}

export const optTsresol = (v: number): Opt => ({ code: 9, value: Uint8Array.of(v) });
export function optTsoffset(sec: bigint, le: boolean): Opt {
  return { code: 14, value: new Bytes(le).u64(sec).bytes() };
}

/** Writes pcapng blocks; call shb() to start a section (optionally switching byte order). */
export class PcapngWriter {
  private out: Uint8Array[] = [];
  private le = true;
  /** File offset of every block written, in order. */
  readonly offsets: number[] = [];
  private size = 0;

  block(type: number, body: (w: Bytes) => void, opts: { lengthOverride?: number; trailerOverride?: number } = {}): this {
    const w = new Bytes(this.le);
    body(w);
    w.pad4();
    const bodyBytes = w.bytes();
    const len = 12 + bodyBytes.length;
    const b = new Bytes(this.le).u32(type).u32(opts.lengthOverride ?? len).raw(bodyBytes).u32(opts.trailerOverride ?? len).bytes();
    this.offsets.push(this.size);
    this.out.push(b);
    this.size += b.length;
    return this;
  }

  shb(le = true, options: Opt[] = []): this {
    this.le = le;
    return this.block(0x0a0d0d0a, (w) => {
      w.u32(0x1a2b3c4d).u16(1).u16(0).u64(-1n);
      writeOptions(w, options);
    });
  }

  idb(linkType: number, snaplen: number, options: Opt[] = []): this {
    return this.block(1, (w) => {
      w.u16(linkType).u16(0).u32(snaplen);
      writeOptions(w, options);
    });
  }

  epb(iface: number, ticks: bigint, data: Uint8Array, origLen = data.length, caplen = data.length): this {
    return this.block(6, (w) => {
      w.u32(iface).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(caplen).u32(origLen).raw(data).pad4();
    });
  }

  pb(iface: number, ticks: bigint, data: Uint8Array, origLen = data.length): this {
    return this.block(2, (w) => {
      w.u16(iface).u16(0).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(data.length).u32(origLen).raw(data).pad4();
    });
  }

  spb(data: Uint8Array, origLen = data.length): this {
    return this.block(3, (w) => {
      w.u32(origLen).raw(data).pad4();
    });
  }

  /** Appends raw bytes (garbage) that are not a block. */
  raw(bytes: Uint8Array): this {
    this.out.push(bytes);
    this.size += bytes.length;
    return this;
  }

  bytes(): Uint8Array {
    const all = new Uint8Array(this.size);
    let at = 0;
    for (const b of this.out) {
      all.set(b, at);
      at += b.length;
    }
    return all;
  }
}

function writeOptions(w: Bytes, options: Opt[]): void {
  if (options.length === 0) return;
  for (const o of options) w.u16(o.code).u16(o.value.length).raw(o.value).pad4();
  w.u16(0).u16(0);
}

/** n bytes of recognisable payload. */
export function payload(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return b;
}
