/**
 * Evidence writer: frames out to a capture file a colleague can open in Wireshark.
 *
 * - A path ending in `.pcapng` (any case) gets pcapng: a Section Header Block (shb_userappl
 *   "netmatrix"), one Interface Description Block per interface (if_name when known, if_tsresol 9 so
 *   timestamps are nanoseconds), then one Enhanced Packet Block per frame.
 * - Any other path gets classic pcap with the nanosecond magic 0xa1b23c4d, little-endian, version 2.4.
 *   Nanoseconds because frames carry nanosecond timestamps (nanosecond files, the live clock's
 *   sub-microsecond receive times): microseconds would round them, and the evidence would no longer
 *   match the frames it was judged from. Wireshark, tshark, tcpdump and libpcap >= 1.5 read it. A
 *   classic pcap has one link type: interfaces with different link types need a .pcapng name
 *   (UsageError).
 * - Frames keep their caplen, origLen and timestamps (a tsNsec >= 1e9 from a damaged file is carried
 *   into the seconds: the same instant, in a record every reader accepts). Classic pcap cannot hold a record above 256 KiB
 *   (readers treat it as corruption): such a frame is cut to 262144 bytes there, origLen kept.
 * - The file is written under a temporary name in the same folder, `.NAME.PID.tmp`, in 256 KiB chunks
 *   with fs.writeSync, and renamed to NAME by close() (after fsync): an interrupted run leaves no half
 *   file under NAME. A write error removes the temporary file and throws (CaptureError 'capture-io').
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CaptureError, UsageError } from '../model/errors.js';
import type { RawFrame } from './frame.js';
import { linkTypeName } from './linktypes.js';

export interface EvidenceWriter {
  write(frame: RawFrame): void;
  /** Flush, fsync, rename the temporary file to its name. Idempotent. */
  close(): void;
  /** Frames written so far. */
  readonly frames: number;
}

export interface EvidenceInterface {
  linkType: number;
  interfaceId: number;
  name?: string;
}

const CHUNK = 256 * 1024;
/** Snaplen in the classic pcap header, and the largest record written there. */
export const PCAP_SNAPLEN = 262144;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_EPB = 6;
const BOM = 0x1a2b3c4d;
const OPT_ENDOFOPT = 0;
const OPT_SHB_USERAPPL = 4;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const NS_PER_SEC = 1_000_000_000n;
const MAX_U64 = (1n << 64n) - 1n;

/** Temporary name used while writing `path`. */
export function evidenceTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

export function openEvidence(path: string, interfaces: EvidenceInterface[]): EvidenceWriter {
  if (interfaces.length === 0) throw new UsageError(`cannot write evidence to ${path}: no interface`);
  const ids = new Set<number>();
  for (const i of interfaces) {
    if (ids.has(i.interfaceId)) throw new UsageError(`cannot write evidence to ${path}: interface id ${i.interfaceId} given twice`);
    ids.add(i.interfaceId);
  }
  const pcapng = /\.pcapng$/i.test(path);
  if (!pcapng) {
    const types = new Set(interfaces.map((i) => i.linkType));
    if (types.size > 1) {
      const list = interfaces.map((i) => `${i.name ?? `interface ${i.interfaceId}`} ${linkTypeName(i.linkType)}`).join(', ');
      throw new UsageError(
        `cannot write evidence to ${path}: the interfaces have different link types (${list}) and a pcap file holds one: give a .pcapng file name`,
      );
    }
  }
  return pcapng ? new PcapngWriter(path, interfaces) : new PcapWriter(path, interfaces);
}

abstract class ChunkedWriter implements EvidenceWriter {
  protected readonly path: string;
  protected readonly temp: string;
  private fd: number | undefined;
  private readonly buf = Buffer.alloc(CHUNK);
  protected readonly view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private used = 0;
  private count = 0;
  private state: 'open' | 'closed' | 'failed' = 'open';

  constructor(path: string) {
    this.path = path;
    this.temp = evidenceTempPath(path);
    try {
      this.fd = openSync(this.temp, 'w');
    } catch (e) {
      throw new CaptureError('capture-io', path, undefined, `cannot create ${this.temp}: ${errText(e)}`);
    }
  }

  get frames(): number {
    return this.count;
  }

  write(frame: RawFrame): void {
    if (this.state !== 'open') throw new Error(`evidence file ${this.path} is ${this.state}`);
    this.record(frame);
    this.count++;
  }

  protected abstract record(frame: RawFrame): void;

  /** Make room for `n` contiguous bytes in the chunk (n <= CHUNK) and return their offset. */
  protected reserve(n: number): number {
    if (this.used + n > CHUNK) this.flush();
    const at = this.used;
    this.used += n;
    return at;
  }

  /** Append bytes of any size. */
  protected bytes(data: Uint8Array): void {
    if (data.length > CHUNK - this.used) {
      this.flush();
      if (data.length > CHUNK) {
        this.out(data);
        return;
      }
    }
    this.buf.set(data, this.used);
    this.used += data.length;
  }

  protected zeros(n: number): void {
    const at = this.reserve(n);
    this.buf.fill(0, at, at + n);
  }

  private flush(): void {
    if (this.used === 0) return;
    const n = this.used;
    this.used = 0;
    this.out(this.buf.subarray(0, n));
  }

  private out(data: Uint8Array): void {
    let done = 0;
    try {
      while (done < data.length) done += writeSync(this.fd!, data, done, data.length - done);
    } catch (e) {
      this.fail();
      throw new CaptureError('capture-io', this.path, undefined, `cannot write ${this.temp}: ${errText(e)}`);
    }
  }

  private fail(): void {
    this.state = 'failed';
    try {
      if (this.fd !== undefined) closeSync(this.fd);
    } catch {
      // already failing
    }
    this.fd = undefined;
    try {
      unlinkSync(this.temp);
    } catch {
      // nothing to remove
    }
  }

  close(): void {
    if (this.state !== 'open') return;
    this.flush();
    try {
      fsyncSync(this.fd!);
      closeSync(this.fd!);
      this.fd = undefined;
      renameSync(this.temp, this.path);
    } catch (e) {
      this.fail();
      throw new CaptureError('capture-io', this.path, undefined, `cannot finish: ${errText(e)}`);
    }
    this.state = 'closed';
  }
}

class PcapWriter extends ChunkedWriter {
  private readonly linkType: number;

  constructor(path: string, interfaces: EvidenceInterface[]) {
    super(path);
    this.linkType = interfaces[0]!.linkType;
    const at = this.reserve(24);
    const v = this.view;
    v.setUint32(at, PCAP_MAGIC_NS, true);
    v.setUint16(at + 4, 2, true);
    v.setUint16(at + 6, 4, true);
    v.setInt32(at + 8, 0, true); // thiszone
    v.setUint32(at + 12, 0, true); // sigfigs
    v.setUint32(at + 16, PCAP_SNAPLEN, true);
    v.setUint32(at + 20, this.linkType, true);
  }

  protected record(frame: RawFrame): void {
    if (frame.linkType !== this.linkType) {
      throw new Error(`evidence ${this.path}: frame of link type ${frame.linkType} in a pcap of link type ${this.linkType}`);
    }
    const data = frame.data.length > PCAP_SNAPLEN ? frame.data.subarray(0, PCAP_SNAPLEN) : frame.data;
    // A damaged source may carry tsNsec >= 1e9: the carry goes into the seconds (same instant, and a
    // record every reader accepts).
    let sec = int(frame.tsSec);
    let nsec = int(frame.tsNsec);
    if (nsec >= 1e9) {
      sec += Math.floor(nsec / 1e9);
      nsec %= 1e9;
    }
    const at = this.reserve(16);
    const v = this.view;
    v.setUint32(at, u32(sec), true);
    v.setUint32(at + 4, u32(nsec), true);
    v.setUint32(at + 8, data.length, true);
    v.setUint32(at + 12, u32(frame.origLen), true);
    this.bytes(data);
  }
}

class PcapngWriter extends ChunkedWriter {
  /** interfaceId -> [index of its IDB, link type]. */
  private readonly index = new Map<number, [number, number]>();

  constructor(path: string, interfaces: EvidenceInterface[]) {
    super(path);
    const shb = new Uint8Array(16);
    const sv = new DataView(shb.buffer);
    sv.setUint32(0, BOM, true);
    sv.setUint16(4, 1, true); // version 1.0
    sv.setUint16(6, 0, true);
    sv.setInt32(8, -1, true); // section length: not given
    sv.setInt32(12, -1, true);
    this.bytes(block(BT_SHB, [shb, option(OPT_SHB_USERAPPL, Buffer.from('netmatrix', 'utf8')), option(OPT_ENDOFOPT)]));
    interfaces.forEach((i, n) => {
      this.index.set(i.interfaceId, [n, i.linkType]);
      const idb = new Uint8Array(8);
      const iv = new DataView(idb.buffer);
      iv.setUint16(0, i.linkType, true);
      iv.setUint16(2, 0, true);
      iv.setUint32(4, 0, true); // snaplen 0: no limit
      const parts: Uint8Array[] = [idb];
      if (i.name !== undefined && i.name !== '') parts.push(option(OPT_IF_NAME, Buffer.from(i.name, 'utf8')));
      parts.push(option(OPT_IF_TSRESOL, Uint8Array.of(9)), option(OPT_ENDOFOPT));
      this.bytes(block(BT_IDB, parts));
    });
  }

  protected record(frame: RawFrame): void {
    const entry = this.index.get(frame.interfaceId);
    if (entry === undefined) throw new Error(`evidence ${this.path}: frame of unknown interface ${frame.interfaceId}`);
    const [idb, linkType] = entry;
    if (frame.linkType !== linkType) {
      throw new Error(`evidence ${this.path}: frame of link type ${frame.linkType} on interface ${frame.interfaceId} of link type ${linkType}`);
    }
    const data = frame.data;
    const pad = (4 - (data.length % 4)) % 4;
    const total = 32 + data.length + pad;
    let ticks = BigInt(int(frame.tsSec)) * NS_PER_SEC + BigInt(int(frame.tsNsec));
    if (ticks < 0n) ticks = 0n;
    if (ticks > MAX_U64) ticks = MAX_U64;
    const at = this.reserve(28);
    const v = this.view;
    v.setUint32(at, BT_EPB, true);
    v.setUint32(at + 4, total, true);
    v.setUint32(at + 8, idb, true);
    v.setUint32(at + 12, Number(ticks >> 32n), true);
    v.setUint32(at + 16, Number(ticks & 0xffffffffn), true);
    v.setUint32(at + 20, data.length, true);
    v.setUint32(at + 24, u32(frame.origLen), true);
    this.bytes(data);
    if (pad) this.zeros(pad);
    const tail = this.reserve(4);
    v.setUint32(tail, total, true);
  }
}

/** A whole pcapng block: type, total length, body parts (each a multiple of 4 bytes), total length. */
function block(type: number, parts: Uint8Array[]): Uint8Array {
  const bodyLen = parts.reduce((n, p) => n + p.length, 0);
  const total = 12 + bodyLen;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  v.setUint32(at, total, true);
  return out;
}

/** One pcapng option (code, length, value padded to 4 bytes). */
function option(code: number, value: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(4 + value.length + ((4 - (value.length % 4)) % 4));
  const v = new DataView(out.buffer);
  v.setUint16(0, code, true);
  v.setUint16(2, value.length, true);
  out.set(value, 4);
  return out;
}

/** Integer part; 0 for NaN and infinities (never produced by the readers). */
function int(n: number): number {
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function u32(n: number): number {
  if (!Number.isFinite(n) || n <= 0) return 0;
  return n >= 0xffffffff ? 0xffffffff : Math.trunc(n);
}

function errText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code !== undefined ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
