/**
 * Property and fuzz tests (fast-check, fixed seeds): captures come from machines that may be
 * compromised, so whatever the bytes
 *   (a) `netmatrix analyze` of a mutated real capture ends with 0, 1, 2 or 3, a report or one line of
 *       error, never a stack trace, never raw control characters, within a hang guard;
 *   (b) the file reader throws nothing but CaptureError, whatever follows a valid magic, in any
 *       chunk size;
 *   (c) the decoder never fails internally on frames of any supported link type and its fragment
 *       reassembly stays within its caps;
 *   (d) the flow table never holds more than --max-flows flows and a TCP stream prefix never holds
 *       more than its cap, and what it holds is the stream's first bytes.
 * Inputs that found bugs are kept in test/corpus-regressions/ (replayed by regressions.test.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PAYLOAD_CLASSIFIERS } from '../../src/classify/classify.js';
import { readCaptureFile } from '../../src/capture/file.js';
import { MAX_KEPT_NOTES, MAX_PCAPNG_INTERFACES, PcapngParser } from '../../src/capture/pcapng.js';
import { Decoder } from '../../src/decode/decoder.js';
import { SUPPORTED_LINK_TYPES } from '../../src/decode/link.js';
import type { Packet } from '../../src/decode/packet.js';
import { CaptureError } from '../../src/model/errors.js';
import type { Flow } from '../../src/flow/flow.js';
import { StreamPrefix } from '../../src/flow/reassembly.js';
import { FlowTable } from '../../src/flow/table.js';
import { CLIENT_PREFIX_CAP, SERVER_PREFIX_CAP } from '../../src/classify/classify.js';
import { bytes, eth, frag6, frame, ipv4, ipv6, packetInvariants, sll, sll2, tcp, udp } from '../helpers/frames.js';
import { corpusBeforeAll, corpusDescribe, publicCorpus } from '../helpers/corpus.js';
import { pcapBytes } from '../helpers/pcap.js';
import { PcapngBuilder } from '../helpers/pcapng.js';
import { analyze, checkCliResult, HANG_GUARD_MS } from './cli-check.js';
import { describeMutations, INTERESTING_U32, LINK_TYPES, mutate, type Mutation } from './layout.js';

const tmp = mkdtempSync(join(tmpdir(), 'nm-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Seeds are fixed: a failure replays with the same seed (fast-check prints seed and path).
 * FUZZ_SEED=n FUZZ_SCALE=k npx vitest run test/robustness/fuzz.test.ts explores further.
 */
const SEED = process.env.FUZZ_SEED === undefined ? 0x6e6d7478 : Number(process.env.FUZZ_SEED);
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1));
const runs = (n: number): number => Math.round(n * SCALE);

// ---------------------------------------------------------------------------------------------
// (a) the whole pipeline on mutated real captures

/** Real captures small enough to be rewritten and analysed hundreds of times. */
const MAX_SEED_FILE = 160 * 1024;

interface SeedCapture {
  name: string;
  bytes: Uint8Array;
  inventory: string[];
}

function seedCaptures(): SeedCapture[] {
  const out: SeedCapture[] = [];
  const publicInventory = ['--node', '10.0.0.0/8', '--node', '192.168.0.0/16', '--researcher', '172.16.0.0/12'];
  for (const name of readdirSync(publicCorpus()).filter((f) => /\.pcap(ng)?$/.test(f)).sort()) {
    const path = publicCorpus(name);
    if (statSync(path).size <= MAX_SEED_FILE) out.push({ name, bytes: readFileSync(path), inventory: publicInventory });
  }
  for (const name of readdirSync('captures').filter((f) => /\.pcap(ng)?$/.test(f)).sort()) {
    out.push({ name: `captures/${name}`, bytes: readFileSync(join('captures', name)), inventory: ['--hosts', 'captures/lab.hosts.yaml'] });
  }
  return out;
}

const u32Arb = fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat({ max: 0xffffffff }));

/** Damage the way broken disks, cut transfers and hostile writers do. */
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 512 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('field' as const),
      field: fc.nat(),
      value: fc.oneof(u32Arb, fc.constantFrom(...LINK_TYPES), fc.integer({ min: -8, max: 8 })),
      relative: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('boundary' as const),
      boundary: fc.nat(),
      skew: fc.constantFrom(0, 4, 8, 12, 16, 20, 24, -4),
      value: u32Arb,
      littleEndian: fc.boolean(),
    }),
  },
);

corpusDescribe('(a) analyze of mutated real captures', () => {
  let seeds: SeedCapture[];
  corpusBeforeAll(() => {
    seeds = seedCaptures();
  });

  it('the seed corpus is there (public captures and the lab recordings)', () => {
    expect(seeds.length).toBeGreaterThan(50);
    expect(seeds.some((s) => s.name.endsWith('.pcapng'))).toBe(true);
  });

  it('exit 0/1/2/3, a valid report or one line of error, no stack trace, no raw control character, no hang', async () => {
    let n = 0;
    const codes = new Map<number, number>();
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('json', 'json', 'jsonl', 'table'),
        fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
        async (which, mutations, format, maxFlows) => {
          const seed = seeds[which]!;
          const file = join(tmp, `mutant-${n++}${seed.name.endsWith('.pcapng') ? '.pcapng' : '.pcap'}`);
          writeFileSync(file, mutate(seed.bytes, mutations));
          const argv = ['analyze', file, ...seed.inventory, '--format', format, ...(maxFlows === undefined ? [] : ['--max-flows', String(maxFlows)])];
          const r = await analyze(argv);
          rmSync(file, { force: true });
          codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
          slowest = Math.max(slowest, r.ms);
          const problem = checkCliResult(r, format);
          if (problem !== undefined) throw new Error(`${seed.name} after ${describeMutations(mutations)}: ${problem}`);
        },
      ),
      { seed: SEED, numRuns: runs(1500) },
    );
    // The mutations reach every outcome: compliant, violations, unreadable, damaged.
    expect([...codes.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(slowest).toBeLessThan(HANG_GUARD_MS);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// (b) the reader on random bytes behind a valid magic

const MAGICS: readonly number[][] = [
  [0xd4, 0xc3, 0xb2, 0xa1],
  [0xa1, 0xb2, 0xc3, 0xd4],
  [0x4d, 0x3c, 0xb2, 0xa1],
  [0xa1, 0xb2, 0x3c, 0x4d],
  [0x0a, 0x0d, 0x0d, 0x0a],
];

/** A valid pcap header (random snaplen and link type) or a valid pcapng SHB, then random bytes. */
const headerArb = fc.oneof(
  fc.constantFrom(...MAGICS).map((m) => new Uint8Array(m)),
  fc
    .record({ le: fc.boolean(), minor: fc.integer({ min: 0, max: 5 }), snaplen: u32Arb, linkType: fc.constantFrom(...LINK_TYPES) })
    .map(({ le, minor, snaplen, linkType }) =>
      pcapBytes([], { precision: 'us', bigEndian: !le, version: [2, minor], snaplen: snaplen >>> 0, linkType }),
    ),
  fc
    .record({ le: fc.boolean(), linkType: fc.constantFrom(...LINK_TYPES), snaplen: u32Arb })
    .map(({ le, linkType, snaplen }) => new PcapngBuilder().shb(le).idb(linkType, snaplen >>> 0).bytes()),
);

/** Random words, biased toward block types and lengths so the parsers go deep. */
const tailArb = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc.array(fc.oneof(u32Arb, fc.constantFrom(1, 2, 3, 4, 5, 6, 10, 32, 36, 40, 64)), { maxLength: 512 }).map((words) => {
    const b = new Uint8Array(words.length * 4);
    const dv = new DataView(b.buffer);
    words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
    return b;
  }),
);

describe('(b) readCaptureFile on random bytes behind a valid magic', () => {
  it('throws only CaptureError; frames and summary stay within the file', () => {
    let n = 0;
    fc.assert(
      fc.property(headerArb, tailArb, fc.option(fc.integer({ min: 1, max: 97 }), { nil: undefined }), (head, tail, chunkSize) => {
        const file = join(tmp, `random-${n++}`);
        const data = bytes(head, tail);
        writeFileSync(file, data);
        try {
          const summary = readCaptureFile(
            file,
            (f) => {
              expect(f.data.length).toBe(f.caplen);
              expect(f.offset).toBeGreaterThanOrEqual(0);
              expect(f.offset + f.caplen).toBeLessThanOrEqual(data.length);
            },
            chunkSize === undefined ? {} : { chunkSize },
          );
          expect(summary.bytesRead).toBeLessThanOrEqual(data.length);
          expect(summary.complete).toBe(summary.stopped === undefined);
          if (summary.stopped) {
            expect(summary.stopped).toBeInstanceOf(CaptureError);
            expect(summary.stopped.offset ?? 0).toBeLessThanOrEqual(data.length);
          }
          expect(summary.warnings.length).toBeLessThanOrEqual(21);
        } catch (e) {
          if (!(e instanceof CaptureError)) throw e;
          expect(['capture-format', 'capture-truncated', 'capture-corrupt']).toContain(e.code);
          expect(e.message).toContain(file);
        } finally {
          rmSync(file, { force: true });
        }
      }),
      { seed: SEED + 1, numRuns: runs(3000) },
    );
  });
});

describe('(b) pcapng damage is recorded in bounded memory', () => {
  /** SHB + one Ethernet IDB, then `n` well-framed empty EPBs naming interface 7, which does not exist. */
  function skippedBlocks(n: number): Uint8Array {
    const b = new PcapngBuilder().shb().idb(1, 0);
    for (let i = 0; i < n; i++) b.epb(7, 0n, new Uint8Array(0));
    return b.bytes();
  }

  it('300,000 skipped blocks: 100 notes and problems kept, the rest counted (all were kept: 2 GB for a 32 MB file)', () => {
    const n = 300_000;
    const file = join(tmp, 'skipped-blocks.pcapng');
    writeFileSync(file, skippedBlocks(n));
    const summary = readCaptureFile(file, () => {
      throw new Error('no frame expected');
    });
    expect(summary.complete).toBe(false);
    expect(summary.stopped?.offset).toBe(48);
    expect(summary.warnings).toHaveLength(21);
    expect(summary.warnings.at(-1)).toBe(`${n - 20} more warnings not shown`);
    rmSync(file, { force: true });
    // The parser itself keeps a bounded number of errors and notes.
    const bytes = skippedBlocks(n);
    const parser = new PcapngParser('x.pcapng', () => undefined);
    parser.push(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length, 0, true);
    expect(parser.problems.length).toBe(MAX_KEPT_NOTES);
    expect(parser.notes.length).toBe(MAX_KEPT_NOTES);
    expect(parser.notesDropped).toBe(n - MAX_KEPT_NOTES);
  }, HANG_GUARD_MS);

  it('at most 65,536 interfaces per section are kept; the rest are skipped and reported', () => {
    const n = 70_000;
    const w = new PcapngBuilder().shb();
    for (let i = 0; i < n; i++) w.idb(1, 0);
    const b = w.bytes();
    let announced = 0;
    const parser = new PcapngParser('x.pcapng', () => undefined, () => announced++);
    parser.push(b, new DataView(b.buffer, b.byteOffset, b.byteLength), 0, b.length, 0, true);
    expect(parser.interfaces.length).toBe(MAX_PCAPNG_INTERFACES);
    expect(announced).toBe(MAX_PCAPNG_INTERFACES);
    expect(parser.problems[0]?.message).toMatch(/beyond 65536 interfaces in one section; block skipped/);
    expect(parser.notes.length + parser.notesDropped).toBe(n - MAX_PCAPNG_INTERFACES);
  });
});

// ---------------------------------------------------------------------------------------------
// (c) the decoder on structured random frames of every supported link type

interface FrameSpec {
  linkType: number;
  v6: boolean;
  proto: number;
  id: number;
  fragOffset: number;
  more: boolean;
  payloadLen: number;
  fill: number;
  totalLen: number | undefined;
  dt: number;
  flips: { at: number; value: number }[];
  cut: number | undefined;
}

const frameSpecArb: fc.Arbitrary<FrameSpec> = fc.record({
  linkType: fc.constantFrom(...SUPPORTED_LINK_TYPES),
  v6: fc.boolean(),
  proto: fc.constantFrom(6, 17, 1, 58, 0, 43, 44, 60, 51, 59, 50),
  // Few ids and small offsets: fragments of one datagram collide and overlap.
  id: fc.integer({ min: 0, max: 5 }),
  fragOffset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 64 }).map((k) => k * 8), fc.integer({ min: 0, max: 8191 }).map((k) => k * 8)),
  more: fc.boolean(),
  payloadLen: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 1600 })),
  fill: fc.integer({ min: 0, max: 255 }),
  totalLen: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  dt: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2, noNaN: true }), fc.constant(40)),
  flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
});

function buildFrame(s: FrameSpec): Uint8Array {
  const payload = new Uint8Array(s.payloadLen).fill(s.fill);
  let l4: Uint8Array = payload;
  if (s.fragOffset === 0 && s.proto === 6) l4 = tcp({ flags: s.fill }, payload);
  else if (s.fragOffset === 0 && s.proto === 17) l4 = udp({}, payload);
  let ip: Uint8Array;
  if (s.v6) {
    const fragmented = s.more || s.fragOffset !== 0;
    const body = fragmented ? bytes(frag6(s.proto, s.fragOffset, s.more, s.id), l4) : l4;
    ip = ipv6(s.totalLen === undefined ? { nh: fragmented ? 44 : s.proto } : { nh: fragmented ? 44 : s.proto, plen: s.totalLen }, body);
  } else {
    ip = ipv4(
      { proto: s.proto, id: s.id, mf: s.more, fragOffset: s.fragOffset, ...(s.totalLen === undefined ? {} : { totalLen: s.totalLen }) },
      l4,
    );
  }
  const et = s.v6 ? 0x86dd : 0x0800;
  let data: Uint8Array;
  switch (s.linkType) {
    case 1:
      data = eth(et, ip, s.fill & 1 ? [[0x8100, 5]] : []);
      break;
    case 113:
      data = sll(et, ip);
      break;
    case 276:
      data = sll2(et, ip);
      break;
    case 0:
      data = bytes([s.v6 ? 30 : 2, 0, 0, 0], ip);
      break;
    case 108:
      data = bytes([0, 0, 0, s.v6 ? 24 : 2], ip);
      break;
    default:
      data = ip;
  }
  for (const f of s.flips) if (data.length > 0) data[f.at % data.length] = f.value;
  return s.cut === undefined ? data : data.subarray(0, s.cut % (data.length + 1));
}

describe('(c) Decoder.decode on structured random frames', () => {
  it('never fails internally; fragment reassembly stays within bytes, datagrams and pieces', () => {
    const caps = { maxBytes: 6000, maxDatagrams: 4, timeoutSec: 30, maxPieces: 24 };
    fc.assert(
      fc.property(fc.array(frameSpecArb, { minLength: 1, maxLength: 120 }), (specs) => {
        const decoder = new Decoder({ fragments: caps });
        let ts = 1_700_000_000;
        for (const s of specs) {
          ts += s.dt;
          const out = decoder.decode(frame(s.linkType, buildFrame(s), ts));
          if (out.kind === 'packet' && !packetInvariants(out.packet)) throw new Error(`packet invariants broken: ${JSON.stringify(s)}`);
          const r = decoder.reassembler;
          if (r.bufferedBytes > caps.maxBytes || r.bufferedBytes < 0) throw new Error(`bufferedBytes ${r.bufferedBytes}`);
          if (r.pending > caps.maxDatagrams) throw new Error(`pending ${r.pending}`);
        }
        const st = decoder.stats;
        expect(st.internalErrors).toBe(0);
        expect(st.byKind.packet + st.byKind.fragment + st.byKind.skip + st.byKind.malformed).toBe(specs.length);
      }),
      { seed: SEED + 2, numRuns: runs(600) },
    );
  });

  it('a datagram of 1-byte fragments is cut off at maxPieces (each piece must not rescan the others)', () => {
    const decoder = new Decoder({ fragments: { maxPieces: 4096 } });
    // Every 8-byte slot of a 64 KiB datagram, then every second byte of each slot, and so on.
    for (let round = 1; round <= 8; round++) {
      for (let slot = 0; slot < 8125; slot++) {
        decoder.decode(frame(101, ipv4({ proto: 17, id: 7, mf: true, fragOffset: slot * 8 }, new Uint8Array(round).fill(round)), 1000));
      }
    }
    const f = decoder.stats.fragments;
    expect(f.droppedOverCap).toBeGreaterThan(0);
    expect(f.evicted).toBeGreaterThan(0);
    expect(decoder.stats.internalErrors).toBe(0);
  }, HANG_GUARD_MS);
});

// ---------------------------------------------------------------------------------------------
// (d) the flow table and the TCP stream prefixes

const ADDRS = ['10.0.0.1', '10.0.0.2', '203.0.113.9', '2001:db8::1'];

const packetArb = fc.record({
  src: fc.constantFrom(...ADDRS),
  dst: fc.constantFrom(...ADDRS),
  sport: fc.oneof(fc.constantFrom(443, 50051, 40000, 40001), fc.integer({ min: 0, max: 65535 })),
  dport: fc.oneof(fc.constantFrom(443, 50051, 40000, 8484), fc.integer({ min: 0, max: 65535 })),
  udp: fc.boolean(),
  flags: fc.oneof(fc.constantFrom(0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14), fc.integer({ min: 0, max: 255 })),
  seq: fc.oneof(fc.integer({ min: 0, max: 40_000 }), fc.nat({ max: 0xffffffff })),
  payloadLen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 1, max: 20_000 })),
  fill: fc.integer({ min: 0, max: 255 }),
  dt: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 10, noNaN: true }), fc.constantFrom(61, 301)),
});

function streamBounds(flow: Flow): string | undefined {
  for (const [s, cap] of [
    [flow.origStream, CLIENT_PREFIX_CAP],
    [flow.respStream, SERVER_PREFIX_CAP],
  ] as const) {
    if (!s) continue;
    if (s.length > cap || s.capacity > cap) return `prefix ${s.length}/${s.capacity} over its cap ${cap}`;
    if (s.pendingBytes > cap || s.pendingSegments > 16) return `${s.pendingSegments} waiting segments, ${s.pendingBytes} bytes, cap ${cap}`;
  }
  return undefined;
}

describe('(d) FlowTable and StreamPrefix bounds', () => {
  it('active flows never exceed maxFlows; every flow ends once; evictions are counted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(packetArb, { minLength: 1, maxLength: 150 }), (maxFlows, pkts) => {
        const ended: Flow[] = [];
        const table = new FlowTable({ maxFlows, isServicePort: (_t, p) => p === 443 || p === 50051 }, (f) => ended.push(f), PAYLOAD_CLASSIFIERS);
        let ts = 1_700_000_000;
        for (const p of pkts) {
          ts += p.dt;
          const payload = new Uint8Array(p.payloadLen).fill(p.fill);
          const v6 = p.src.includes(':') || p.dst.includes(':');
          const packet: Packet = {
            ts,
            ipVersion: v6 ? 6 : 4,
            src: v6 ? '2001:db8::1' : p.src,
            dst: v6 ? '2001:db8::2' : p.dst,
            proto: p.udp ? 17 : 6,
            ...(p.udp
              ? { udp: { srcPort: p.sport, dstPort: p.dport, length: 8 + p.payloadLen } }
              : { tcp: { srcPort: p.sport, dstPort: p.dport, seq: p.seq, ack: 0, flags: p.flags, window: 65535, headerLen: 20 } }),
            payload,
            payloadLen: p.payloadLen,
            ipLen: 40 + p.payloadLen,
            truncated: false,
            reassembled: false,
          };
          const flow = table.add(packet);
          if (table.stats.active > maxFlows) throw new Error(`${table.stats.active} active flows, max ${maxFlows}`);
          const problem = flow && streamBounds(flow);
          if (problem) throw new Error(problem);
        }
        const beforeFlush = ended.length;
        table.flush();
        expect(table.stats.active).toBe(0);
        expect(ended.length).toBe(table.stats.flows);
        expect(new Set(ended.map((f) => f.id)).size).toBe(ended.length);
        expect(ended.filter((f) => f.endReason === 'evicted').length).toBe(table.stats.evicted);
        expect(ended.slice(0, beforeFlush).every((f) => f.endReason !== 'capture-end')).toBe(true);
        expect(ended.every((f) => f.origStream === undefined && f.respStream === undefined)).toBe(true);
      }),
      { seed: SEED + 3, numRuns: runs(600) },
    );
  });

  it('a stream prefix holds at most its cap and exactly the first bytes of the stream, whatever the segment order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 300 }),
        fc.nat({ max: 0xffffffff }),
        fc.uint8Array({ minLength: 0, maxLength: 900 }),
        fc.array(fc.record({ from: fc.nat({ max: 1000 }), len: fc.integer({ min: 0, max: 400 }) }), { maxLength: 60 }),
        (cap, isn, stream, segs) => {
          const sp = new StreamPrefix(cap);
          sp.setIsn(isn);
          let coveredInOrder = 0;
          for (const s of segs) {
            const from = Math.min(s.from, stream.length);
            const piece = stream.subarray(from, Math.min(stream.length, from + s.len));
            sp.add((isn + 1 + from) >>> 0, piece);
            if (from <= coveredInOrder) coveredInOrder = Math.max(coveredInOrder, from + piece.length);
            if (sp.length > cap || sp.capacity > cap || sp.pendingBytes > cap || sp.pendingSegments > 16) {
              throw new Error(`over the cap: length ${sp.length}, capacity ${sp.capacity}, pending ${sp.pendingBytes} in ${sp.pendingSegments}`);
            }
            // Consistent bytes in, the stream's own prefix out (whatever arrived out of order).
            expect(Buffer.from(sp.bytes).equals(Buffer.from(stream.subarray(0, sp.length)))).toBe(true);
          }
          // Whatever arrived in order is never lost.
          expect(sp.length).toBeGreaterThanOrEqual(Math.min(cap, coveredInOrder));
        },
      ),
      { seed: SEED + 4, numRuns: runs(2000) },
    );
  });
});
