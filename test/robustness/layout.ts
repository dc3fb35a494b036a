/**
 * Capture-file surgery for the robustness tests: where the records (pcap) and blocks (pcapng) of a
 * real capture start, which header fields they have, and mutations that damage them the way a
 * crafted or broken file would (byte flips, inserted and deleted ranges, truncation, and overwrites
 * of length, type and interface fields at record and block boundaries).
 *
 * Layouts (all fields in the byte order the file declares):
 *   pcap    header 24: magic 0, version 4/6, thiszone 8, sigfigs 12, snaplen 16, linktype 20;
 *           record 16 + caplen: ts_sec 0, ts_frac 4, caplen 8, origlen 12, data 16.
 *   pcapng  block: type 0, total length 4, body, total length again at length - 4.
 *           SHB: byte-order magic 8, major 12, minor 14, section length 16 (8 bytes).
 *           IDB: linktype 8 (u16), reserved 10, snaplen 12, options 16.
 *           EPB: interface 8, ts high 12, ts low 16, caplen 20, origlen 24, data 28.
 *           SPB: origlen 8, data 12.   PB (obsolete): interface 8 (u16), drops 10, ts 12/16, caplen 20.
 */

export type Width = 1 | 2 | 4;

export interface Field {
  /** Absolute byte offset in the file. */
  at: number;
  width: Width;
  littleEndian: boolean;
  name: string;
  /** The value the field holds in the unmutated file. */
  value: number;
}

export interface Layout {
  format: 'pcap' | 'pcapng' | 'unknown';
  /** Offsets of the file header and of every record/block that starts inside the file. */
  boundaries: number[];
  /** Overwritable header fields, in file order. */
  fields: Field[];
}

function u16(b: Uint8Array, at: number, le: boolean): number {
  return le ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number, le: boolean): number {
  return le
    ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
    : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function field(b: Uint8Array, fields: Field[], at: number, width: Width, le: boolean, name: string): void {
  if (at + width > b.length) return;
  const value = width === 1 ? b[at]! : width === 2 ? u16(b, at, le) : u32(b, at, le);
  fields.push({ at, width, littleEndian: le, name, value });
}

/** Walks a (well-formed) capture; stops quietly at the first thing that does not parse. */
export function layoutOf(b: Uint8Array): Layout {
  if (b.length >= 24) {
    const m = u32(b, 0, false);
    const pcapLe = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
    const pcapBe = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
    if (pcapLe || pcapBe) return pcapLayout(b, pcapLe);
    if (m === 0x0a0d0d0a) return pcapngLayout(b);
  }
  return { format: 'unknown', boundaries: [0], fields: [] };
}

function pcapLayout(b: Uint8Array, le: boolean): Layout {
  const fields: Field[] = [];
  const boundaries = [0];
  field(b, fields, 4, 2, le, 'pcap.versionMajor');
  field(b, fields, 6, 2, le, 'pcap.versionMinor');
  field(b, fields, 16, 4, le, 'pcap.snaplen');
  field(b, fields, 20, 4, le, 'pcap.linktype');
  let at = 24;
  while (at + 16 <= b.length) {
    boundaries.push(at);
    field(b, fields, at, 4, le, 'record.tsSec');
    field(b, fields, at + 4, 4, le, 'record.tsFrac');
    field(b, fields, at + 8, 4, le, 'record.caplen');
    field(b, fields, at + 12, 4, le, 'record.origlen');
    const caplen = u32(b, at + 8, le);
    if (caplen > 262_144) break;
    at += 16 + caplen;
  }
  return { format: 'pcap', boundaries, fields };
}

const BOM = 0x1a2b3c4d;

function pcapngLayout(b: Uint8Array): Layout {
  const fields: Field[] = [];
  const boundaries: number[] = [];
  let le = true;
  let at = 0;
  while (at + 12 <= b.length) {
    const isShb = u32(b, at, false) === 0x0a0d0d0a;
    if (isShb) {
      if (u32(b, at + 8, true) === BOM) le = true;
      else if (u32(b, at + 8, false) === BOM) le = false;
      else break;
    }
    const type = u32(b, at, le);
    const len = u32(b, at + 4, le);
    if (len < 12 || len % 4 !== 0 || at + len > b.length) break;
    boundaries.push(at);
    field(b, fields, at, 4, le, 'block.type');
    field(b, fields, at + 4, 4, le, 'block.length');
    field(b, fields, at + len - 4, 4, le, 'block.trailingLength');
    switch (type) {
      case 0x0a0d0d0a:
        field(b, fields, at + 8, 4, le, 'shb.byteOrderMagic');
        field(b, fields, at + 12, 2, le, 'shb.major');
        field(b, fields, at + 16, 4, le, 'shb.sectionLengthLow');
        break;
      case 1:
        field(b, fields, at + 8, 2, le, 'idb.linktype');
        field(b, fields, at + 12, 4, le, 'idb.snaplen');
        if (len > 20) {
          field(b, fields, at + 16, 2, le, 'idb.optionCode');
          field(b, fields, at + 18, 2, le, 'idb.optionLength');
          field(b, fields, at + 20, 1, le, 'idb.optionValue');
        }
        break;
      case 6:
        field(b, fields, at + 8, 4, le, 'epb.interface');
        field(b, fields, at + 12, 4, le, 'epb.tsHigh');
        field(b, fields, at + 16, 4, le, 'epb.tsLow');
        field(b, fields, at + 20, 4, le, 'epb.caplen');
        field(b, fields, at + 24, 4, le, 'epb.origlen');
        break;
      case 3:
        field(b, fields, at + 8, 4, le, 'spb.origlen');
        break;
      case 2:
        field(b, fields, at + 8, 2, le, 'pb.interface');
        field(b, fields, at + 20, 4, le, 'pb.caplen');
        break;
      default:
        break;
    }
    at += len;
  }
  return { format: 'pcapng', boundaries: boundaries.length > 0 ? boundaries : [0], fields };
}

/** Values that break length and type checks: zero, tiny, unaligned, just past the limits, sign bits. */
export const INTERESTING_U32: readonly number[] = Object.freeze([
  0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 16, 20, 27, 28, 31, 32, 33, 64, 1500, 65535, 65536, 262_143, 262_144, 262_145,
  0x7fff_ffff, 0x8000_0000, 0x8000_0004, 0xffff_fff0, 0xffff_fffc, 0xffff_ffff, 16 * 1024 * 1024, 16 * 1024 * 1024 + 4,
  16 * 1024 * 1024 - 4, 1024 * 1024, 0x0a0d0d0a, 0x1a2b3c4d, 0x4d3c2b1a, 0xbad, 0x40000bad,
]);

/** Link types worth forcing: every supported one, and some that are not. */
export const LINK_TYPES: readonly number[] = Object.freeze([0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105, 127, 160, 0xffff]);

export type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; length: number }
  /** Overwrite header field number `field` (modulo the count) with `value` (or value's delta from the original when `relative`). */
  | { kind: 'field'; field: number; value: number; relative: boolean }
  /** Overwrite 4 bytes at a record/block boundary plus `skew`. */
  | { kind: 'boundary'; boundary: number; skew: number; value: number; littleEndian: boolean };

function write(b: Uint8Array, at: number, width: Width, le: boolean, value: number): void {
  const v = value >>> 0;
  for (let i = 0; i < width; i++) {
    const shift = le ? i * 8 : (width - 1 - i) * 8;
    if (at + i < b.length) b[at + i] = (v >>> shift) & 0xff;
  }
}

/** Applies the mutations in order; positions are taken modulo the current length. Never throws. */
export function mutate(original: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = original.slice();
  for (const m of mutations) {
    const n = b.length;
    switch (m.kind) {
      case 'flip':
        if (n > 0) b[m.at % n] = m.value & 0xff;
        break;
      case 'insert': {
        const at = n === 0 ? 0 : m.at % (n + 1);
        const next = new Uint8Array(n + m.bytes.length);
        next.set(b.subarray(0, at), 0);
        next.set(m.bytes, at);
        next.set(b.subarray(at), at + m.bytes.length);
        b = next;
        break;
      }
      case 'delete': {
        if (n === 0) break;
        const at = m.at % n;
        const end = Math.min(n, at + m.length);
        const next = new Uint8Array(n - (end - at));
        next.set(b.subarray(0, at), 0);
        next.set(b.subarray(end), at);
        b = next;
        break;
      }
      case 'duplicate': {
        if (n === 0) break;
        const at = m.at % n;
        const piece = b.slice(at, Math.min(n, at + m.length));
        const next = new Uint8Array(n + piece.length);
        next.set(b.subarray(0, at + piece.length), 0);
        next.set(piece, at + piece.length);
        next.set(b.subarray(at + piece.length), at + 2 * piece.length);
        b = next;
        break;
      }
      case 'truncate':
        b = b.slice(0, n === 0 ? 0 : m.at % (n + 1));
        break;
      case 'field': {
        const fields = layoutOf(b).fields;
        if (fields.length === 0) break;
        const f = fields[m.field % fields.length]!;
        const value = m.relative ? f.value + m.value : m.value;
        write(b, f.at, f.width, f.littleEndian, value);
        break;
      }
      case 'boundary': {
        const bounds = layoutOf(b).boundaries;
        const at = bounds[m.boundary % bounds.length]! + m.skew;
        if (at >= 0 && at < n) write(b, at, 4, m.littleEndian, m.value);
        break;
      }
    }
  }
  return b;
}

/** Short text for a failure message (and for the regression corpus README). */
export function describeMutations(mutations: readonly Mutation[]): string {
  return mutations
    .map((m) => {
      switch (m.kind) {
        case 'insert':
          return `insert ${m.bytes.length} bytes at ${m.at}`;
        case 'field':
          return `field #${m.field} ${m.relative ? '+=' : '='} ${m.value}`;
        default:
          return JSON.stringify(m);
      }
    })
    .join('; ');
}
