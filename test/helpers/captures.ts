/**
 * The public captures (test/helpers/corpus.ts, see the corpus's INDEX.tsv) for the decoder and classifier
 * tests, read with the real reader (src/capture/file.ts) and decoded with the real Decoder.
 *
 * The reader hands out frames whose data is a view valid only during its callback, and decoded
 * payloads are views into the frame: everything these helpers return is copied, so it stays valid.
 * Damage after the file header does not throw (the reader delivers what it can and says why it
 * stopped in the summary); a missing file or one that is not a capture does.
 */
import { readCaptureFile, type ReadSummary } from '../../src/capture/file.js';
import type { RawFrame } from '../../src/capture/frame.js';
import { Decoder, type DecoderOptions } from '../../src/decode/decoder.js';
import type { DecodeOutcome, Packet } from '../../src/decode/packet.js';
import { publicCorpus } from './corpus.js';

// ---------------------------------------------------------------------------------------------
// Frames and decode outcomes

export interface Capture {
  summary: ReadSummary;
  /** Every frame the reader delivered, with its data copied out of the reader's buffer. */
  frames: RawFrame[];
}

export function readCapture(name: string): Capture {
  const frames: RawFrame[] = [];
  const summary = readCaptureFile(publicCorpus(name), (f) => frames.push({ ...f, data: f.data.slice() }));
  return { summary, frames };
}

export function readFrames(name: string): RawFrame[] {
  return readCapture(name).frames;
}

/**
 * Decode every frame of a public capture with one decoder. outcomes[i] belongs to frames[i] (frame
 * number i + 1); packet payloads are views into those copied frames (or into reassembled datagrams).
 */
export function decodeFile(
  name: string,
  opts?: DecoderOptions,
): { decoder: Decoder; outcomes: DecodeOutcome[]; frames: RawFrame[]; summary: ReadSummary } {
  const decoder = new Decoder(opts);
  const { summary, frames } = readCapture(name);
  const outcomes = frames.map((f) => decoder.decode(f));
  return { decoder, outcomes, frames, summary };
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

// ---------------------------------------------------------------------------------------------
// TCP segments and UDP datagrams

export interface L4Packet {
  /** 1-based number of the frame that produced the packet (the last fragment's, if reassembled), as tshark counts. */
  index: number;
  /** Addresses as the decoder writes them (RFC 5952 for IPv6). */
  src: string;
  dst: string;
  proto: 6 | 17;
  srcPort: number;
  dstPort: number;
  seq: number; // TCP only
  flags: number; // TCP only
  /** Captured transport payload (copied). */
  payload: Uint8Array;
}

const l4Cache = new Map<string, readonly L4Packet[]>();

/**
 * Every decoded packet of a capture that has a TCP or UDP header, IP fragments reassembled, in
 * capture order. Cached per file (the probe tests ask for several flows of the same capture).
 */
export function readL4Packets(name: string): readonly L4Packet[] {
  const cached = l4Cache.get(name);
  if (cached !== undefined) return cached;
  const out: L4Packet[] = [];
  const decoder = new Decoder();
  let index = 0;
  readCaptureFile(publicCorpus(name), (f) => {
    index++;
    const o = decoder.decode(f);
    if (o.kind !== 'packet') return;
    const p = o.packet;
    const base = { index, src: p.src, dst: p.dst, payload: p.payload.slice() };
    if (p.tcp !== undefined) {
      out.push({ ...base, proto: 6, srcPort: p.tcp.srcPort, dstPort: p.tcp.dstPort, seq: p.tcp.seq, flags: p.tcp.flags });
    } else if (p.udp !== undefined) {
      out.push({ ...base, proto: 17, srcPort: p.udp.srcPort, dstPort: p.udp.dstPort, seq: 0, flags: 0 });
    }
  });
  l4Cache.set(name, out);
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
export function tcpStream(name: string, dir: Direction): Uint8Array {
  const pkts = readL4Packets(name).filter((p) => p.proto === 6 && matches(p, dir));
  if (pkts.length === 0) throw new Error(`${name}: no TCP packets ${dir.srcPort}->${dir.dstPort}`);
  const syn = pkts.find((p) => (p.flags & 0x02) !== 0);
  const data = pkts.filter((p) => p.payload.length > 0);
  if (data.length === 0) return new Uint8Array(0);
  const ref = data[0]!.seq;
  const rel = (seq: number): number => (seq - ref) | 0; // signed 32-bit distance
  const base = syn !== undefined ? rel((syn.seq + 1) >>> 0) : Math.min(...data.map((p) => rel(p.seq)));
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

/** Payloads of the TCP segments of one direction, in capture order (empty ones left out; fresh copies). */
export function tcpSegments(name: string, dir: Direction): Uint8Array[] {
  return readL4Packets(name)
    .filter((p) => p.proto === 6 && matches(p, dir) && p.payload.length > 0)
    .map((p) => p.payload.slice());
}

/** UDP datagrams (with frame numbers), optionally only those to or from one port (fresh copies). */
export function udpDatagrams(name: string, port?: number): L4Packet[] {
  return readL4Packets(name)
    .filter((p) => p.proto === 17 && (port === undefined || p.srcPort === port || p.dstPort === port))
    .map((p) => ({ ...p, payload: p.payload.slice() }));
}
