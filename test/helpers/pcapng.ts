/**
 * pcapng files for tests, block by block: any byte order per section, any interface options
 * (if_tsresol, if_tsoffset), EPB, PB and SPB packets, unknown blocks, and the damage readers must
 * survive (wrong lengths, garbage between blocks). The product's writer (src/capture/pcap-writer.ts)
 * writes only what evidence needs; the readers are tested on everything pcapng allows.
 */

/** A growing byte buffer written field by field in one byte order. */
export class Bytes {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private n = 0;
  constructor(readonly le: boolean) {}

  private room(k: number): number {
    if (this.n + k > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
      grown.set(this.buf.subarray(0, this.n));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.n;
    this.n += k;
    return at;
  }

  // room() may replace buf and view: call it before reading either.
  u8(v: number): this {
    const at = this.room(1);
    this.buf[at] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.view.setUint16(at, v & 0xffff, this.le);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.view.setUint32(at, v >>> 0, this.le);
    return this;
  }
  u64(v: bigint): this {
    const at = this.room(8);
    this.view.setBigUint64(at, BigInt.asUintN(64, v), this.le);
    return this;
  }
  raw(bytes: ArrayLike<number>): this {
    const at = this.room(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }
  pad4(): this {
    const at = this.room((4 - (this.n % 4)) % 4);
    this.buf.fill(0, at, this.n);
    return this;
  }
  get length(): number {
    return this.n;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

export interface Opt {
  code: number;
  value: Uint8Array;
}

export const optTsresol = (v: number): Opt => ({ code: 9, value: Uint8Array.of(v) });
export function optTsoffset(sec: bigint, le: boolean): Opt {
  return { code: 14, value: new Bytes(le).u64(sec).bytes() };
}
export const optIfName = (name: string): Opt => ({ code: 2, value: new TextEncoder().encode(name) });

/** Builds a pcapng file; call shb() to start a section (optionally switching byte order). */
export class PcapngBuilder {
  private readonly out: Uint8Array[] = [];
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

  /** Section header block: byte-order magic, version 1.0, section length unknown (-1). */
  shb(le = true, options: Opt[] = []): this {
    this.le = le;
    return this.block(0x0a0d0d0a, (w) => {
      w.u32(0x1a2b3c4d).u16(1).u16(0).u64(-1n);
      writeOptions(w, options);
    });
  }

  /** Interface description block (interfaces are numbered in order within a section). */
  idb(linkType: number, snaplen: number, options: Opt[] = []): this {
    return this.block(1, (w) => {
      w.u16(linkType).u16(0).u32(snaplen);
      writeOptions(w, options);
    });
  }

  /** Enhanced packet block; `ticks` count in the interface's if_tsresol unit. */
  epb(iface: number, ticks: bigint, data: Uint8Array, origLen = data.length, caplen = data.length): this {
    return this.block(6, (w) => {
      w.u32(iface).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(caplen).u32(origLen).raw(data).pad4();
    });
  }

  /** Obsolete packet block. */
  pb(iface: number, ticks: bigint, data: Uint8Array, origLen = data.length): this {
    return this.block(2, (w) => {
      w.u16(iface).u16(0).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(data.length).u32(origLen).raw(data).pad4();
    });
  }

  /** Simple packet block (interface 0, no timestamp). */
  spb(data: Uint8Array, origLen = data.length): this {
    return this.block(3, (w) => {
      w.u32(origLen).raw(data).pad4();
    });
  }

  /** Appends a block's type and total length alone: a block cut short, or a length the reader must check. */
  header(type: number, totalLength: number): this {
    return this.raw(new Bytes(this.le).u32(type).u32(totalLength).bytes());
  }

  /** Appends raw bytes (garbage, a cut block) that are not a whole block. */
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
