/**
 * Test-only capture reader: just enough pcap/pcapng to feed the decoder the public captures.
 * Classic pcap (µs and ns magic, either byte order) and pcapng (SHB, IDB with if_tsresol, EPB, SPB).
 * Reads the whole file; frames are views into the file buffer (valid forever here). Stops quietly at
 * the first damaged record (several public captures are cut short on purpose).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawFrame } from '../../src/capture/frame.js';
import { Decoder, type DecoderOptions } from '../../src/decode/decoder.js';
import type { DecodeOutcome, Packet } from '../../src/decode/packet.js';

/** ../shared/captures/public relative to the project root. */
export const PUBLIC = fileURLToPath(new URL('../../../shared/captures/public/', import.meta.url));

export function readFrames(name: string): RawFrame[] {
  const buf = readFileSync(join(PUBLIC, name));
  const data = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 4) throw new Error(`${name}: too short`);
  const m = dv.getUint32(0, false);
  if (m === 0x0a0d0d0a) return readPcapng(data, dv);
  return readPcap(name, data, dv);
}

function readPcap(name: string, data: Uint8Array, dv: DataView): RawFrame[] {
  const mBE = dv.getUint32(0, false);
  const mLE = dv.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (mLE === 0xa1b2c3d4 || mLE === 0xa1b23c4d) {
    le = true;
    nano = mLE === 0xa1b23c4d;
  } else if (mBE === 0xa1b2c3d4 || mBE === 0xa1b23c4d) {
    le = false;
    nano = mBE === 0xa1b23c4d;
  } else {
    throw new Error(`${name}: not a pcap file`);
  }
  const linkType = dv.getUint32(20, le) & 0xffff;
  const frames: RawFrame[] = [];
  let off = 24;
  while (off + 16 <= data.length) {
    const tsSec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const caplen = dv.getUint32(off + 8, le);
    const origLen = dv.getUint32(off + 12, le);
    if (caplen > 262144 || off + 16 + caplen > data.length) break;
    frames.push({
      tsSec,
      tsNsec: nano ? frac : frac * 1000,
      linkType,
      caplen,
      origLen,
      data: data.subarray(off + 16, off + 16 + caplen),
      interfaceId: 0,
      offset: off,
    });
    off += 16 + caplen;
  }
  return frames;
}

function readPcapng(data: Uint8Array, dv: DataView): RawFrame[] {
  const frames: RawFrame[] = [];
  let le = true;
  let ifaces: { linkType: number; unitsPerSec: bigint }[] = [];
  let off = 0;
  while (off + 12 <= data.length) {
    let type = dv.getUint32(off, le);
    if (type === 0x0a0d0d0a) {
      const bom = dv.getUint32(off + 8, true);
      le = bom === 0x1a2b3c4d;
      type = 0x0a0d0d0a;
      ifaces = [];
    }
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || len % 4 !== 0 || off + len > data.length) break;
    const body = off + 8;
    const bodyEnd = off + len - 4;
    if (type === 1) {
      const linkType = dv.getUint16(body, le);
      let unitsPerSec = 1_000_000n;
      let o = body + 8;
      while (o + 4 <= bodyEnd) {
        const code = dv.getUint16(o, le);
        const olen = dv.getUint16(o + 2, le);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const r = data[o + 4]!;
          unitsPerSec = r & 0x80 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r & 0x7f);
        }
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linkType, unitsPerSec });
    } else if (type === 6) {
      const ifid = dv.getUint32(body, le);
      const ts = (BigInt(dv.getUint32(body + 4, le)) << 32n) | BigInt(dv.getUint32(body + 8, le));
      const caplen = dv.getUint32(body + 12, le);
      const origLen = dv.getUint32(body + 16, le);
      const iface = ifaces[ifid];
      if (iface === undefined || body + 20 + caplen > bodyEnd) break;
      const sec = ts / iface.unitsPerSec;
      const nsec = ((ts % iface.unitsPerSec) * 1_000_000_000n) / iface.unitsPerSec;
      frames.push({
        tsSec: Number(sec),
        tsNsec: Number(nsec),
        linkType: iface.linkType,
        caplen,
        origLen,
        data: data.subarray(body + 20, body + 20 + caplen),
        interfaceId: ifid,
        offset: off,
      });
    } else if (type === 3) {
      const iface = ifaces[0];
      if (iface === undefined) break;
      const origLen = dv.getUint32(body, le);
      const caplen = Math.min(origLen, bodyEnd - body - 4);
      frames.push({
        tsSec: 0,
        tsNsec: 0,
        linkType: iface.linkType,
        caplen,
        origLen,
        data: data.subarray(body + 4, body + 4 + caplen),
        interfaceId: 0,
        offset: off,
      });
    }
    off += len;
  }
  return frames;
}

/** Decode every frame of a public capture with one decoder. */
export function decodeFile(name: string, opts?: DecoderOptions): { decoder: Decoder; outcomes: DecodeOutcome[]; frames: RawFrame[] } {
  const decoder = new Decoder(opts);
  const frames = readFrames(name);
  const outcomes = frames.map((f) => decoder.decode(f));
  return { decoder, outcomes, frames };
}

export function packetsOf(outcomes: DecodeOutcome[]): Packet[] {
  const out: Packet[] = [];
  for (const o of outcomes) if (o.kind === 'packet') out.push(o.packet);
  return out;
}

/** "src:port > dst:port" / "[v6]:port > [v6]:port" for compact assertions. */
export function endpoints(p: Packet): string {
  const port = (a: string, n: number | undefined): string =>
    n === undefined ? a : p.ipVersion === 6 ? `[${a}]:${n}` : `${a}:${n}`;
  const sp = p.tcp?.srcPort ?? p.udp?.srcPort;
  const dp = p.tcp?.dstPort ?? p.udp?.dstPort;
  return `${port(p.src, sp)} > ${port(p.dst, dp)}`;
}

export function ascii(b: Uint8Array): string {
  return String.fromCharCode(...b);
}
