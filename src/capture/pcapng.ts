/**
 * Incremental parser for pcapng (draft-ietf-opsawg-pcapng). Pure: no I/O, see parser.ts for the
 * contract.
 *
 * - SHB: either byte order; the order can change at every new section; section length ignored
 *   (-1 is fine). The interface table is per section; `interfaceId` is the index within the section.
 * - IDB: link type, snaplen, if_tsresol (10^-n and 2^-n forms) and if_tsoffset.
 * - EPB, obsolete PB (type 2) and SPB (interface 0 of the section; caplen = min(origlen, snaplen,
 *   block space); no timestamp, so tsSec = tsNsec = 0) deliver frames. Every other block (NRB, ISB,
 *   DSB, custom, unknown) is skipped by its length.
 * - A block whose total length is < 12 (or below its type's minimum), not a multiple of 4, larger than
 *   16 MiB, or whose trailing length copy disagrees is corrupt: it is recorded as a problem and the
 *   parser resynchronises by scanning forward (4-byte steps, at most 1 MiB) for a plausible block:
 *   known type, sane length, matching trailing length (and, for packet blocks, a known interface).
 *   If none is found, parsing stops with 'capture-corrupt'.
 * - A well-framed block whose content is impossible (EPB referring to an interface without IDB,
 *   caplen larger than the block) is skipped and recorded as a problem.
 * - Timestamps: 64-bit tick counts are converted exactly (no float rounding) to tsSec + tsNsec;
 *   10^-n with n <= 9 and 2^-n with n <= 32 use integer-exact double arithmetic, anything else uses
 *   BigInt for that block only. Binary fractions are truncated to whole nanoseconds.
 */
import { CaptureError } from '../model/errors.js';
import { ChunkFrame } from './frame.js';
import { hex4 } from './pcap.js';
import {
  MAX_PCAPNG_BLOCK,
  PCAPNG_RESYNC_WINDOW,
  type CaptureParser,
  type FrameSink,
  type InterfaceSink,
} from './parser.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
export const BT_PB = 2;
export const BT_SPB = 3;
export const BT_NRB = 4;
export const BT_ISB = 5;
export const BT_EPB = 6;
export const BT_DSB = 0x0a;
export const BT_CUSTOM = 0xbad;
export const BT_CUSTOM_NOCOPY = 0x40000bad;

const BOM = 0x1a2b3c4d;
const TWO32 = 4294967296;
/**
 * Problems, notes and resyncs kept at most (the rest are only counted in notesDropped), and
 * interfaces per section at most: a crafted file of a million skipped blocks (32 MB) would
 * otherwise hold a million errors and notes, 2 GB of memory; a million IDBs (20 MB), 450 MB.
 */
export const MAX_KEPT_NOTES = 100;
export const MAX_PCAPNG_INTERFACES = 65_536;

/** Smallest legal total length per block type (12 for types we do not know). */
function minBlockLength(type: number): number {
  switch (type) {
    case BT_SHB:
      return 28;
    case BT_IDB:
      return 20;
    case BT_PB:
    case BT_EPB:
      return 32;
    case BT_SPB:
    case BT_NRB:
    case BT_CUSTOM:
    case BT_CUSTOM_NOCOPY:
      return 16;
    case BT_DSB:
      return 20;
    case BT_ISB:
      return 24;
    default:
      return 12;
  }
}

function isKnownBlockType(type: number): boolean {
  return (
    type === BT_SHB ||
    (type >= BT_IDB && type <= BT_EPB) ||
    type === BT_DSB ||
    type === BT_CUSTOM ||
    type === BT_CUSTOM_NOCOPY
  );
}

/** Timestamp conversion strategy of an interface. */
const TS_DECIMAL = 0; // 10^-n, n <= 9: exact long division by `div` in base 2^16
const TS_BINARY = 1; // 2^-n, n <= 32
const TS_BIGINT = 2; // anything else

export interface PcapngInterface {
  /** Index within its section. */
  id: number;
  linkType: number;
  snaplen: number;
  /** Raw if_tsresol byte (6 when absent). */
  tsresol: number;
  /** if_tsoffset in seconds (0 when absent). */
  tsOffset: number;
  /** File offset of the IDB. */
  offset: number;
  tsKind: number;
  /** TS_DECIMAL: 10^n; TS_BINARY: n. */
  div: number;
  /** TS_DECIMAL: 10^(9-n); TS_BINARY: 2^(9-n). */
  mul: number;
  /** TS_BIGINT: ticks per second. */
  bigDiv: bigint;
}

export function makeInterface(
  id: number,
  linkType: number,
  snaplen: number,
  tsresol: number,
  tsOffset: number,
  offset: number,
): PcapngInterface {
  const iface: PcapngInterface = {
    id,
    linkType,
    snaplen,
    tsresol,
    tsOffset,
    offset,
    tsKind: TS_BIGINT,
    div: 1,
    mul: 1,
    bigDiv: 1n,
  };
  const n = tsresol & 0x7f;
  if ((tsresol & 0x80) === 0) {
    if (n <= 9) {
      iface.tsKind = TS_DECIMAL;
      iface.div = 10 ** n;
      iface.mul = 10 ** (9 - n);
    } else {
      iface.bigDiv = 10n ** BigInt(n);
    }
  } else if (n <= 32) {
    iface.tsKind = TS_BINARY;
    iface.div = n;
    iface.mul = 2 ** (9 - n);
  } else {
    iface.bigDiv = 1n << BigInt(n);
  }
  return iface;
}

export class PcapngParser implements CaptureParser {
  need = 12;
  done = false;
  stopped: CaptureError | undefined = undefined;
  readonly problems: CaptureError[] = [];
  readonly notes: string[] = [];
  /** Every successful resynchronisation (the first MAX_KEPT_NOTES): offset of the corrupt block and of the block found. */
  readonly resyncs: { from: number; to: number }[] = [];
  /** Notes (and problems) beyond the first MAX_KEPT_NOTES: counted, not kept. */
  notesDropped = 0;
  frames = 0;
  /** Number of sections (SHBs) seen. */
  sections = 0;
  /** Interfaces of the current section. */
  interfaces: PcapngInterface[] = [];

  private le = true;
  /** File offset of the corrupt block we are resynchronising after, or -1. */
  private resyncBad = -1;
  private resyncError: CaptureError | undefined = undefined;
  /** Result of timestamp conversion (kept in fields to avoid an allocation per frame). */
  private tsSec = 0;
  private tsNsec = 0;
  /** One frame object for the whole file, refilled per packet block (see ChunkFrame). */
  private readonly frame = new ChunkFrame();

  constructor(
    private readonly file: string,
    private readonly onFrame: FrameSink,
    private readonly onInterface?: InterfaceSink,
  ) {}

  push(buf: Uint8Array, view: DataView, start: number, end: number, fileOffset: number, eof: boolean): number {
    if (this.done) return end - start;
    const base = fileOffset - start;
    let pos = start;

    if (this.sections === 0) {
      const r = this.parseFirstShb(buf, view, pos, end, eof);
      if (r < 0) return 0;
      pos += r;
    }

    for (;;) {
      if (this.resyncBad >= 0) {
        const found = this.scan(buf, view, pos, end, base, eof);
        if (found === -2) {
          // Need more bytes at this.scanAt; everything before it has been ruled out.
          pos = this.scanAt;
          break;
        }
        if (found === -1) {
          const err = this.resyncError!;
          const why =
            eof && base + end - this.resyncBad <= PCAPNG_RESYNC_WINDOW
              ? 'before the end of the file'
              : `within ${PCAPNG_RESYNC_WINDOW} bytes`;
          this.stop(
            new CaptureError('capture-corrupt', this.file, this.resyncBad, `${detailOf(err)}; no valid block found ${why}, reading stopped`),
          );
          return end - start;
        }
        if (this.resyncs.length < MAX_KEPT_NOTES) this.resyncs.push({ from: this.resyncBad, to: base + found });
        this.note(
          `resynchronised at byte ${base + found} after the corrupt block at byte ${this.resyncBad} (${base + found - this.resyncBad} bytes skipped)`,
        );
        this.resyncBad = -1;
        this.resyncError = undefined;
        pos = found;
      }

      const avail = end - pos;
      if (avail < 8) {
        this.need = 8;
        break;
      }
      const isShb = buf[pos] === 0x0a && buf[pos + 1] === 0x0d && buf[pos + 2] === 0x0d && buf[pos + 3] === 0x0a;
      let le = this.le;
      if (isShb) {
        if (avail < 12) {
          this.need = 12;
          break;
        }
        const bomLe = view.getUint32(pos + 8, true);
        if (bomLe === BOM) le = true;
        else if (view.getUint32(pos + 8, false) === BOM) le = false;
        else {
          this.corrupt(base + pos, `section header block with a bad byte-order magic 0x${hex4(buf, pos + 8)}`);
          pos += 4;
          continue;
        }
      }
      const type = isShb ? BT_SHB : view.getUint32(pos, le);
      const len = view.getUint32(pos + 4, le);
      if (len < minBlockLength(type) || len % 4 !== 0 || len > MAX_PCAPNG_BLOCK) {
        this.corrupt(base + pos, `block of type 0x${type.toString(16)} has an impossible total length ${len}`);
        pos += 4;
        continue;
      }
      if (avail < len) {
        this.need = len;
        if (!eof) break;
        // The file ends inside this block: truncation, unless the length itself is the damage and a
        // valid block follows within what is left.
        const found = this.scanTail(buf, view, pos + 4, end);
        if (found < 0) {
          this.stop(
            new CaptureError(
              'capture-truncated',
              this.file,
              base + pos,
              `file ends in the middle of a block at byte ${base + pos}: ${avail} of ${len} bytes present`,
            ),
          );
          return end - start;
        }
        this.corrupt(base + pos, `block of type 0x${type.toString(16)} claims ${len} bytes, past the end of the file`);
        pos += 4;
        continue;
      }
      const trailer = view.getUint32(pos + len - 4, le);
      if (trailer !== len) {
        this.corrupt(base + pos, `block of type 0x${type.toString(16)} has total length ${len} but its trailing copy says ${trailer}`);
        pos += 4;
        continue;
      }

      const blockAt = pos;
      pos += len;
      switch (type) {
        case BT_EPB:
        case BT_PB:
          this.packetBlock(buf, view, blockAt, len, base, type);
          break;
        case BT_SPB:
          this.simplePacketBlock(buf, view, blockAt, len, base);
          break;
        case BT_IDB:
          this.interfaceBlock(buf, view, blockAt, len, base);
          break;
        case BT_SHB:
          if (view.getUint16(blockAt + 12, le) !== 1) {
            this.stop(
              new CaptureError(
                'capture-corrupt',
                this.file,
                base + blockAt,
                `section header block with unsupported version ${view.getUint16(blockAt + 12, le)}.${view.getUint16(blockAt + 14, le)}`,
              ),
            );
            return end - start;
          }
          this.le = le;
          this.sections++;
          this.interfaces = [];
          break;
        default:
          break; // NRB, ISB, DSB, custom, unknown: skipped
      }
    }

    if (eof && !this.done) {
      const left = end - pos;
      if (left > 0) {
        const want = left < 8 ? 8 : this.need;
        this.stop(
          new CaptureError(
            'capture-truncated',
            this.file,
            base + pos,
            `file ends in the middle of a block at byte ${base + pos}: ${left} of ${want} bytes present`,
          ),
        );
        return end - start;
      }
      this.done = true;
    }
    return pos - start;
  }

  /** Validates the first SHB (damage there is a format error). Returns its length, or -1 if more bytes are needed. */
  private parseFirstShb(buf: Uint8Array, view: DataView, pos: number, end: number, eof: boolean): number {
    const avail = end - pos;
    const fail = (detail: string): never => {
      this.done = true;
      throw new CaptureError('capture-format', this.file, 0, detail);
    };
    if (avail >= 4 && !(buf[pos] === 0x0a && buf[pos + 1] === 0x0d && buf[pos + 2] === 0x0d && buf[pos + 3] === 0x0a)) {
      fail(`not a pcapng file (magic 0x${hex4(buf, pos)})`);
    }
    if (avail < 28) {
      if (eof) fail(`file too short for a pcapng section header: ${avail} of 28 bytes`);
      this.need = 28;
      return -1;
    }
    let le: boolean;
    if (view.getUint32(pos + 8, true) === BOM) le = true;
    else if (view.getUint32(pos + 8, false) === BOM) le = false;
    else return fail(`pcapng section header has a bad byte-order magic 0x${hex4(buf, pos + 8)}`);
    const len = view.getUint32(pos + 4, le);
    if (len < 28 || len % 4 !== 0 || len > MAX_PCAPNG_BLOCK) fail(`pcapng section header has an impossible length ${len}`);
    if (avail < len) {
      if (eof) fail(`file too short for its pcapng section header: ${avail} of ${len} bytes`);
      this.need = len;
      return -1;
    }
    if (view.getUint32(pos + len - 4, le) !== len) {
      fail(`pcapng section header length ${len} disagrees with its trailing copy ${view.getUint32(pos + len - 4, le)}`);
    }
    const major = view.getUint16(pos + 12, le);
    if (major !== 1) fail(`unsupported pcapng version ${major}.${view.getUint16(pos + 14, le)}`);
    this.le = le;
    this.sections = 1;
    this.interfaces = [];
    return len;
  }

  private interfaceBlock(buf: Uint8Array, view: DataView, pos: number, len: number, base: number): void {
    if (this.interfaces.length >= MAX_PCAPNG_INTERFACES) {
      this.skipped(base + pos, `interface description block beyond ${MAX_PCAPNG_INTERFACES} interfaces in one section; block skipped`);
      return;
    }
    const le = this.le;
    const linkType = view.getUint16(pos + 8, le);
    const snaplen = view.getUint32(pos + 12, le);
    let tsresol = 6;
    let tsOffset = 0;
    let o = pos + 16;
    const oend = pos + len - 4;
    while (o + 4 <= oend) {
      const code = view.getUint16(o, le);
      const olen = view.getUint16(o + 2, le);
      if (code === 0) break;
      const v = o + 4;
      if (v + olen > oend) {
        this.note(`interface description block at byte ${base + pos}: option ${code} overruns the block; remaining options ignored`);
        break;
      }
      if (code === 9 && olen >= 1) tsresol = buf[v]!;
      else if (code === 14 && olen >= 8) {
        const hi = view.getInt32(le ? v + 4 : v, le);
        const lo = view.getUint32(le ? v : v + 4, le);
        tsOffset = hi * TWO32 + lo;
      }
      o = v + ((olen + 3) & ~3);
    }
    const id = this.interfaces.length;
    this.interfaces.push(makeInterface(id, linkType, snaplen, tsresol, tsOffset, base + pos));
    this.onInterface?.(linkType, id, base + pos);
  }

  private packetBlock(buf: Uint8Array, view: DataView, pos: number, len: number, base: number, type: number): void {
    const le = this.le;
    const id = type === BT_EPB ? view.getUint32(pos + 8, le) : view.getUint16(pos + 8, le);
    const iface = this.interfaces[id];
    const name = type === BT_EPB ? 'enhanced packet block' : 'packet block';
    if (iface === undefined) {
      this.skipped(base + pos, `${name} refers to interface ${id} but the section has ${this.interfaces.length} interface(s); block skipped`);
      return;
    }
    const caplen = view.getUint32(pos + 20, le);
    if (caplen > len - 32) {
      this.skipped(base + pos, `${name} claims caplen ${caplen} but the block holds at most ${len - 32} bytes; block skipped`);
      return;
    }
    this.convertTs(iface, view.getUint32(pos + 12, le), view.getUint32(pos + 16, le));
    const frame = this.frame;
    frame.linkType = iface.linkType;
    frame.tsSec = this.tsSec;
    frame.tsNsec = this.tsNsec;
    frame.caplen = caplen;
    frame.origLen = view.getUint32(pos + 24, le);
    frame.chunk = buf;
    frame.chunkOffset = pos + 28;
    frame.interfaceId = id;
    frame.offset = base + pos;
    this.deliver(frame);
  }

  private simplePacketBlock(buf: Uint8Array, view: DataView, pos: number, len: number, base: number): void {
    const iface = this.interfaces[0];
    if (iface === undefined) {
      this.skipped(base + pos, 'simple packet block in a section without an interface description block; block skipped');
      return;
    }
    const origLen = view.getUint32(pos + 8, this.le);
    let caplen = len - 16;
    if (origLen < caplen) caplen = origLen;
    if (iface.snaplen !== 0 && iface.snaplen < caplen) caplen = iface.snaplen;
    const frame = this.frame;
    frame.linkType = iface.linkType;
    frame.tsSec = 0;
    frame.tsNsec = 0;
    frame.caplen = caplen;
    frame.origLen = origLen;
    frame.chunk = buf;
    frame.chunkOffset = pos + 12;
    frame.interfaceId = 0;
    frame.offset = base + pos;
    this.deliver(frame);
  }

  /** Hands on the one frame object (see ChunkFrame), refilled by the caller for this record. */
  private deliver(frame: ChunkFrame): void {
    this.frames++;
    this.onFrame(frame);
  }

  /** Converts a 64-bit tick count (hi:lo) of `iface` into this.tsSec / this.tsNsec, exactly. */
  private convertTs(iface: PcapngInterface, hi: number, lo: number): void {
    let sec: number;
    let nsec: number;
    if (iface.tsKind === TS_DECIMAL) {
      // Long division of hi * 2^32 + lo by d (<= 1e9) in base 2^16: every intermediate stays < 2^47.
      const d = iface.div;
      const q1 = Math.floor(hi / d);
      const r1 = hi - q1 * d;
      const t2 = r1 * 65536 + (lo >>> 16);
      const q2 = Math.floor(t2 / d);
      const r2 = t2 - q2 * d;
      const t3 = r2 * 65536 + (lo & 0xffff);
      const q3 = Math.floor(t3 / d);
      sec = q1 * TWO32 + q2 * 65536 + q3;
      nsec = (t3 - q3 * d) * iface.mul;
    } else if (iface.tsKind === TS_BINARY) {
      const n = iface.div;
      let frac: number;
      if (n === 32) {
        sec = hi;
        frac = lo;
      } else {
        const p = 2 ** n;
        frac = lo % p;
        sec = hi * 2 ** (32 - n) + (lo - frac) / p;
      }
      // frac * 1e9 / 2^n = frac * 5^9 * 2^(9-n): frac * 5^9 < 2^53 and scaling by 2^k is exact.
      nsec = Math.floor(frac * 1953125 * iface.mul);
    } else {
      const ticks = (BigInt(hi) << 32n) | BigInt(lo);
      const d = iface.bigDiv;
      sec = Number(ticks / d);
      nsec = Number(((ticks % d) * 1_000_000_000n) / d);
    }
    this.tsSec = sec + iface.tsOffset;
    this.tsNsec = nsec;
  }

  /** Records a corrupt block at file offset `at` and enters resynchronisation. */
  private corrupt(at: number, detail: string): void {
    const err = new CaptureError('capture-corrupt', this.file, at, detail);
    if (this.problems.length < MAX_KEPT_NOTES) this.problems.push(err);
    this.note(`corrupt block at byte ${at}: ${detail}`);
    this.resyncBad = at;
    this.resyncError = err;
  }

  private skipped(at: number, detail: string): void {
    if (this.problems.length < MAX_KEPT_NOTES) this.problems.push(new CaptureError('capture-corrupt', this.file, at, detail));
    this.note(`byte ${at}: ${detail}`);
  }

  private note(text: string): void {
    if (this.notes.length < MAX_KEPT_NOTES) this.notes.push(text);
    else this.notesDropped++;
  }

  private stop(err: CaptureError): void {
    this.stopped = err;
    this.done = true;
    this.need = 0;
  }

  /** Set by scan() when it returns -2: the first position not yet ruled out. */
  private scanAt = 0;

  /**
   * Looks for a plausible block at 4-byte steps from `pos`, within PCAPNG_RESYNC_WINDOW bytes of the
   * corrupt block. Returns its index, -1 when there is none (window exhausted, or end of file),
   * -2 when more bytes are needed (this.scanAt / this.need say where and how many).
   */
  private scan(buf: Uint8Array, view: DataView, pos: number, end: number, base: number, eof: boolean): number {
    const limit = this.resyncBad + PCAPNG_RESYNC_WINDOW;
    for (; base + pos <= limit; pos += 4) {
      if (eof && end - pos < 12) return -1;
      const r = this.plausibleAt(buf, view, pos, end);
      if (r === 1) return pos;
      if (r === -1 && !eof) {
        this.scanAt = pos;
        return -2;
      }
    }
    return -1;
  }

  /** At end of file: is there a plausible block anywhere in buf[pos, end)? */
  private scanTail(buf: Uint8Array, view: DataView, pos: number, end: number): number {
    for (; pos + 12 <= end; pos += 4) if (this.plausibleAt(buf, view, pos, end) === 1) return pos;
    return -1;
  }

  /** 1: a plausible block starts at pos; 0: no; -1: cannot tell without more bytes (this.need set). */
  private plausibleAt(buf: Uint8Array, view: DataView, pos: number, end: number): number {
    const avail = end - pos;
    if (avail < 12) {
      this.need = 12;
      return -1;
    }
    let le = this.le;
    let type: number;
    if (buf[pos] === 0x0a && buf[pos + 1] === 0x0d && buf[pos + 2] === 0x0d && buf[pos + 3] === 0x0a) {
      type = BT_SHB;
      if (view.getUint32(pos + 8, true) === BOM) le = true;
      else if (view.getUint32(pos + 8, false) === BOM) le = false;
      else return 0;
    } else {
      type = view.getUint32(pos, le);
      if (!isKnownBlockType(type)) return 0;
    }
    const len = view.getUint32(pos + 4, le);
    if (len < minBlockLength(type) || len % 4 !== 0 || len > MAX_PCAPNG_BLOCK) return 0;
    if (avail < len) {
      this.need = len;
      return -1;
    }
    if (view.getUint32(pos + len - 4, le) !== len) return 0;
    if (type === BT_EPB || type === BT_PB) {
      const id = type === BT_EPB ? view.getUint32(pos + 8, le) : view.getUint16(pos + 8, le);
      if (id >= this.interfaces.length) return 0;
      if (view.getUint32(pos + 20, le) > len - 32) return 0;
    } else if (type === BT_SPB) {
      if (this.interfaces.length === 0) return 0;
    } else if (type === BT_SHB) {
      if (view.getUint16(pos + 12, le) !== 1) return 0;
    }
    return 1;
  }
}

function detailOf(err: CaptureError): string {
  const i = err.message.indexOf(': ');
  return i < 0 ? err.message : err.message.slice(i + 2);
}
