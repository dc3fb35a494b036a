/**
 * Classic pcap files for tests, written by the product's own writer (src/capture/pcap-writer.ts, the
 * evidence writer: little-endian, nanosecond magic, version 2.4, snaplen 262144), so the record
 * layout is written in one place. What other writers and damaged files look like (the microsecond
 * magic tcpdump writes by default, big-endian, other versions and snaplens, a corrupt caplen) is that
 * file with header or record fields rewritten afterwards.
 */
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawFrame } from '../../src/capture/frame.js';
import { openEvidence, type EvidenceWriter } from '../../src/capture/pcap-writer.js';

/**
 * One record: its bytes and its time, either `ts` in seconds (kept to the microsecond, as a float
 * cannot carry nanoseconds at today's epoch) or exact `sec` and `nsec`.
 */
export type PcapRecord = {
  data: Uint8Array;
  /** Length on the wire; data.length unless given. */
  origLen?: number;
  /** Written into the record header instead of data.length (damage: the record no longer matches its bytes). */
  caplen?: number;
} & ({ ts: number } | { sec: number; nsec: number });

export interface PcapOptions {
  /** LINKTYPE_ value; 1 (Ethernet) unless given. */
  linkType?: number;
  /** 'ns' (the writer's own format, the default) or 'us' (magic 0xa1b2c3d4: every nsec must be whole microseconds). */
  precision?: 'ns' | 'us';
  bigEndian?: boolean;
  /** The header's snaplen field (the writer puts 262144). */
  snaplen?: number;
  /** The header's [major, minor] version (the writer puts 2.4). */
  version?: [number, number];
}

const MAGIC_US = 0xa1b2c3d4;

let scratch: string | undefined;

/** Where pcapBytes writes: tmpfs when there is one, as the evidence writer's fsync costs milliseconds on a disk. */
function scratchBase(): string {
  if (scratch === undefined) {
    try {
      accessSync('/dev/shm', constants.W_OK);
      scratch = '/dev/shm';
    } catch {
      scratch = tmpdir();
    }
  }
  return scratch;
}

function seconds(r: PcapRecord): [number, number] {
  if (!('ts' in r)) return [r.sec, r.nsec];
  const sec = Math.floor(r.ts);
  return [sec, Math.round((r.ts - sec) * 1e6) * 1000];
}

function rawFrame(r: PcapRecord, linkType: number): RawFrame {
  const [tsSec, tsNsec] = seconds(r);
  return { tsSec, tsNsec, linkType, caplen: r.data.length, origLen: r.origLen ?? r.data.length, data: r.data, interfaceId: 0, offset: 0 };
}

/** The bytes of a classic pcap holding `records`. */
export function pcapBytes(records: readonly PcapRecord[], opts: PcapOptions = {}): Uint8Array {
  const linkType = opts.linkType ?? 1;
  const dir = mkdtempSync(join(scratchBase(), 'nm-pcap-'));
  let out: Uint8Array;
  try {
    const path = join(dir, 'records.pcap');
    const w = openEvidence(path, [{ linkType, interfaceId: 0 }]);
    for (const r of records) w.write(rawFrame(r, linkType));
    w.close();
    out = new Uint8Array(readFileSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const offsets = recordOffsets(v, true);
  if (opts.precision === 'us') {
    v.setUint32(0, MAGIC_US, true);
    for (const at of offsets) {
      const nsec = v.getUint32(at + 4, true);
      if (nsec % 1000 !== 0) throw new Error(`pcapBytes: ${nsec} ns is not a whole microsecond`);
      v.setUint32(at + 4, nsec / 1000, true);
    }
  }
  if (opts.snaplen !== undefined) v.setUint32(16, opts.snaplen, true);
  if (opts.version !== undefined) {
    v.setUint16(4, opts.version[0], true);
    v.setUint16(6, opts.version[1], true);
  }
  if (opts.bigEndian === true) out = swapPcap(out);
  const le = opts.bigEndian !== true;
  const w = new DataView(out.buffer, out.byteOffset, out.byteLength);
  records.forEach((r, i) => {
    if (r.caplen !== undefined) w.setUint32(offsets[i]! + 8, r.caplen, le);
  });
  return out;
}

/** Writes pcapBytes(records, opts) to `path` and returns the path. */
export function writePcap(path: string, records: readonly PcapRecord[], opts: PcapOptions = {}): string {
  writeFileSync(path, pcapBytes(records, opts));
  return path;
}

/** Offsets of the record headers of a well-formed classic pcap. */
function recordOffsets(v: DataView, le: boolean): number[] {
  const out: number[] = [];
  for (let at = 24; at + 16 <= v.byteLength; at += 16 + v.getUint32(at + 8, le)) out.push(at);
  return out;
}

/** A classic pcap from one byte order to the other (header fields and record headers). */
export function swapPcap(src: Uint8Array): Uint8Array {
  const out = Uint8Array.from(src);
  const v = new DataView(out.buffer);
  const le = src[0] === 0xd4 || src[0] === 0x4d;
  const sw32 = (at: number): void => v.setUint32(at, v.getUint32(at, le), !le);
  const sw16 = (at: number): void => v.setUint16(at, v.getUint16(at, le), !le);
  const offsets = recordOffsets(new DataView(src.buffer, src.byteOffset, src.byteLength), le);
  sw32(0);
  sw16(4);
  sw16(6);
  for (const at of [8, 12, 16, 20]) sw32(at);
  for (const off of offsets) for (const at of [0, 4, 8, 12]) sw32(off + at);
  return out;
}

/** A classic pcap written frame by frame through the evidence writer, for files too big to build in memory. */
export class PcapStream {
  private readonly writer: EvidenceWriter;
  private readonly frame: RawFrame;

  constructor(path: string, linkType = 1) {
    if (/\.pcapng$/i.test(path)) throw new Error(`PcapStream writes classic pcap, not ${path}`);
    this.writer = openEvidence(path, [{ linkType, interfaceId: 0 }]);
    this.frame = { tsSec: 0, tsNsec: 0, linkType, caplen: 0, origLen: 0, data: new Uint8Array(0), interfaceId: 0, offset: 0 };
  }

  /** Writes `data` now (the writer copies it: the caller may reuse the buffer). */
  write(sec: number, nsec: number, data: Uint8Array, origLen = data.length): void {
    const f = this.frame;
    f.tsSec = sec;
    f.tsNsec = nsec;
    f.data = data;
    f.caplen = data.length;
    f.origLen = origLen;
    this.writer.write(f);
  }

  close(): void {
    this.writer.close();
  }
}
