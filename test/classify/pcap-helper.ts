/**
 * Test-only pcap/pcapng reader: just enough to pull TCP streams (one direction, in sequence order) and
 * UDP payloads out of the public captures, so the probes are tested on real bytes. Not streaming, no
 * IP fragment reassembly, no error recovery: it throws on anything it does not understand, which is
 * what a test helper should do. Independent of src/capture and src/decode on purpose.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** ../shared/captures/public relative to the project root. */
export const PUBLIC_CAPTURES = path.resolve(here, '../../../shared/captures/public');

export function capturePath(name: string): string {
  return path.join(PUBLIC_CAPTURES, name);
}

interface Frame {
  linkType: number;
  data: Uint8Array;
}

export interface L4Packet {
  index: number; // 1-based frame number, as tshark counts
  src: string;
  dst: string;
  proto: 6 | 17;
  srcPort: number;
  dstPort: number;
  seq: number; // TCP only
  flags: number; // TCP only
  payload: Uint8Array;
}

function readFrames(file: string): Frame[] {
  const buf = readFileSync(capturePath(file));
  const b = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magicLE = dv.getUint32(0, true);
  const frames: Frame[] = [];
  if (magicLE === 0x0a0d0d0a) {
    // pcapng
    let le = true;
    const linkTypes: number[] = [];
    let off = 0;
    while (off + 12 <= b.length) {
      const type = dv.getUint32(off, le);
      if (type === 0x0a0d0d0a) {
        le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
        linkTypes.length = 0;
      }
      const len = dv.getUint32(off + 4, le);
      if (len < 12 || off + len > b.length) throw new Error(`${file}: bad pcapng block at ${off}`);
      const body = off + 8;
      if (type === 1) linkTypes.push(dv.getUint16(body, le));
      else if (type === 6) {
        const iface = dv.getUint32(body, le);
        const caplen = dv.getUint32(body + 12, le);
        frames.push({ linkType: linkTypes[iface] ?? -1, data: b.subarray(body + 20, body + 20 + caplen) });
      } else if (type === 3) {
        const origLen = dv.getUint32(body, le);
        const caplen = Math.min(origLen, len - 16);
        frames.push({ linkType: linkTypes[0] ?? -1, data: b.subarray(body + 4, body + 4 + caplen) });
      } else if (type === 2) {
        const iface = dv.getUint16(body, le);
        const caplen = dv.getUint32(body + 12, le);
        frames.push({ linkType: linkTypes[iface] ?? -1, data: b.subarray(body + 20, body + 20 + caplen) });
      }
      off += len;
    }
    return frames;
  }
  let le: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) le = true;
  else if (dv.getUint32(0, false) === 0xa1b2c3d4 || dv.getUint32(0, false) === 0xa1b23c4d) le = false;
  else throw new Error(`${file}: not a pcap/pcapng file`);
  const linkType = dv.getUint32(20, le) & 0x0fffffff;
  let off = 24;
  while (off + 16 <= b.length) {
    const caplen = dv.getUint32(off + 8, le);
    if (off + 16 + caplen > b.length) break; // cut short
    frames.push({ linkType, data: b.subarray(off + 16, off + 16 + caplen) });
    off += 16 + caplen;
  }
  return frames;
}

/** Offset of the IP header in a frame, or -1. */
function ipOffset(f: Frame): number {
  const d = f.data;
  switch (f.linkType) {
    case 1: {
      let off = 12;
      let et = ((d[off] ?? 0) << 8) | (d[off + 1] ?? 0);
      while (et === 0x8100 || et === 0x88a8) {
        off += 4;
        et = ((d[off] ?? 0) << 8) | (d[off + 1] ?? 0);
      }
      return et === 0x0800 || et === 0x86dd ? off + 2 : -1;
    }
    case 113:
      return 16;
    case 276:
      return 20;
    case 0:
    case 109:
      return 4;
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      return 0;
    default:
      return -1;
  }
}

function v4(d: Uint8Array, o: number): string {
  return `${d[o]}.${d[o + 1]}.${d[o + 2]}.${d[o + 3]}`;
}

function v6(d: Uint8Array, o: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push((((d[o + i] ?? 0) << 8) | (d[o + i + 1] ?? 0)).toString(16));
  return parts.join(':');
}

/** All TCP/UDP packets of a capture (unfragmented IPv4/IPv6 only). */
export function readL4Packets(file: string): L4Packet[] {
  const out: L4Packet[] = [];
  const frames = readFrames(file);
  for (let fi = 0; fi < frames.length; fi++) {
    const f = frames[fi] as Frame;
    const d = f.data;
    let o = ipOffset(f);
    if (o < 0 || o >= d.length) continue;
    const ver = (d[o] ?? 0) >> 4;
    let proto: number;
    let src: string;
    let dst: string;
    let end: number;
    if (ver === 4) {
      const ihl = ((d[o] ?? 0) & 0x0f) * 4;
      const total = ((d[o + 2] ?? 0) << 8) | (d[o + 3] ?? 0);
      const fragField = ((d[o + 6] ?? 0) << 8) | (d[o + 7] ?? 0);
      if ((fragField & 0x3fff) !== 0) continue; // fragment
      proto = d[o + 9] ?? 0;
      src = v4(d, o + 12);
      dst = v4(d, o + 16);
      end = Math.min(d.length, o + total);
      o += ihl;
    } else if (ver === 6) {
      const plen = ((d[o + 4] ?? 0) << 8) | (d[o + 5] ?? 0);
      proto = d[o + 6] ?? 0;
      src = v6(d, o + 8);
      dst = v6(d, o + 24);
      end = Math.min(d.length, o + 40 + plen);
      o += 40;
      let fragmented = false;
      while (proto === 0 || proto === 43 || proto === 60 || proto === 44) {
        if (proto === 44) {
          const fo = ((d[o + 2] ?? 0) << 8) | (d[o + 3] ?? 0);
          if (fo !== 0) fragmented = true; // offset or M flag set
          proto = d[o] ?? 0;
          o += 8;
        } else {
          proto = d[o] ?? 0;
          o += ((d[o + 1] ?? 0) + 1) * 8;
        }
      }
      if (fragmented) continue;
    } else continue;
    if (proto === 6) {
      if (o + 20 > end) continue;
      const hl = ((d[o + 12] ?? 0) >> 4) * 4;
      out.push({
        index: fi + 1,
        src,
        dst,
        proto: 6,
        srcPort: ((d[o] ?? 0) << 8) | (d[o + 1] ?? 0),
        dstPort: ((d[o + 2] ?? 0) << 8) | (d[o + 3] ?? 0),
        seq: (((d[o + 4] ?? 0) << 24) | ((d[o + 5] ?? 0) << 16) | ((d[o + 6] ?? 0) << 8) | (d[o + 7] ?? 0)) >>> 0,
        flags: d[o + 13] ?? 0,
        payload: d.subarray(Math.min(o + hl, end), end),
      });
    } else if (proto === 17) {
      if (o + 8 > end) continue;
      out.push({
        index: fi + 1,
        src,
        dst,
        proto: 17,
        srcPort: ((d[o] ?? 0) << 8) | (d[o + 1] ?? 0),
        dstPort: ((d[o + 2] ?? 0) << 8) | (d[o + 3] ?? 0),
        seq: 0,
        flags: 0,
        payload: d.subarray(o + 8, end),
      });
    }
  }
  return out;
}

export interface Direction {
  srcPort: number;
  dstPort: number;
  /** Source address when ports are not enough to tell flows apart. */
  src?: string;
}

function matches(p: L4Packet, dir: Direction): boolean {
  return p.srcPort === dir.srcPort && p.dstPort === dir.dstPort && (dir.src === undefined || p.src === dir.src);
}

/**
 * Payload of one direction of a TCP connection, in sequence order, up to the first hole. Retransmitted
 * and overlapping bytes are taken once (first copy wins). Relative to SYN+1 when the SYN was captured,
 * else to the lowest sequence number seen.
 */
export function tcpStream(file: string, dir: Direction): Uint8Array {
  const pkts = readL4Packets(file).filter((p) => p.proto === 6 && matches(p, dir));
  if (pkts.length === 0) throw new Error(`${file}: no TCP packets ${dir.srcPort}->${dir.dstPort}`);
  const syn = pkts.find((p) => (p.flags & 0x02) !== 0);
  const data = pkts.filter((p) => p.payload.length > 0);
  if (data.length === 0) return new Uint8Array(0);
  const ref = (data[0] as L4Packet).seq;
  const rel = (seq: number): number => (seq - ref) | 0; // signed 32-bit distance
  let base: number;
  if (syn !== undefined) base = rel((syn.seq + 1) >>> 0);
  else base = Math.min(...data.map((p) => rel(p.seq)));
  const segs = data.map((p) => ({ off: rel(p.seq) - base, payload: p.payload })).sort((a, b) => a.off - b.off);
  const chunks: Uint8Array[] = [];
  let have = 0;
  for (const s of segs) {
    if (s.off > have) break; // hole
    const skip = have - s.off;
    if (skip >= s.payload.length) continue;
    chunks.push(s.payload.subarray(skip));
    have += s.payload.length - skip;
  }
  const out = new Uint8Array(have);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** Payloads of the TCP segments of one direction, in capture order (empty ones left out). */
export function tcpSegments(file: string, dir: Direction): Uint8Array[] {
  return readL4Packets(file)
    .filter((p) => p.proto === 6 && matches(p, dir) && p.payload.length > 0)
    .map((p) => p.payload);
}

/** UDP datagrams (with frame numbers), optionally only those of one direction or to/from one port. */
export function udpDatagrams(file: string, port?: number): L4Packet[] {
  return readL4Packets(file).filter(
    (p) => p.proto === 17 && (port === undefined || p.srcPort === port || p.dstPort === port),
  );
}

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Deterministic PRNG (xorshift32) so that fuzz failures reproduce. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function randomBytes(next: () => number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = next() & 0xff;
  return out;
}
