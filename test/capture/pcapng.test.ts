import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/file.js';
import { epoch, fingerprint, payload, readAll, TmpDir, type CopiedFrame, type ReadResult } from './helpers.js';
import { corpusBeforeAll, corpusDescribe, corpusIt, publicCorpus } from '../helpers/corpus.js';
import { optTsoffset, optTsresol, PcapngBuilder } from '../helpers/pcapng.js';

const tmp = new TmpDir();
afterAll(() => tmp.cleanup());

const sha16 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

corpusDescribe('public pcapng files', () => {
  // Oracle computed once with Wireshark tools (not needed at test time):
  //   meta = sha256 of the lines "<frame.time_epoch> <frame.cap_len> <frame.len> <frame.interface_id>\n"
  //          printed by `tshark -T fields`;
  //   data = sha256 of the concatenated packet bytes of `editcap -F nsecpcap FILE`.
  const table: [string, number, string, string][] = [
    ['ndpi_doh.pcapng', 120, '7a79c692234b00f3', '7b43687628179011'],
    ['ndpi_http.pcapng', 10, 'd9800d4e0693ee4e', 'c04912195301fe78'],
    ['ndpi_http2_h2c.pcapng', 10, '746fc7fe83cb2f05', '2037710963d942ab'],
    ['ndpi_tls_1.3_unidirectional_client.pcapng', 9, '0c3d8ae0d9d8a1f1', '328322f242967e77'],
    ['ndpi_tls_ech.pcapng', 10, '22c1e5335b5ca361', '7642f8f1a6b44d6a'],
    ['ndpi_tls_with_huge_ch.pcapng', 428, '88e7e07816b3708d', '88ee853c79abd27c'],
    ['packt_grpc_client_streaming.pcapng', 52, '370459dd93952f12', '2d28e84cf39a1832'],
    ['packt_grpc_server_streaming.pcapng', 31, 'a8284381c1ad12df', '42a762966549a14e'],
    ['packt_grpc_unary.pcapng', 4318, '42a80ef065c8db69', '5a4b9b63607d3395'],
    ['tcpdump_empty.pcapng', 0, 'e3b0c44298fc1c14', 'e3b0c44298fc1c14'],
    ['zeek_pcapng_multi_interface.pcapng', 6, '7e350beace39f87b', '8040b22f912ac886'],
    ['ndpi_wireguard.pcap', 52, '9ba0c53c755b36c7', '83fa50a9bda91ec7'],
  ];
  for (const [file, count, meta, data] of table) {
    it(`${file}: ${count} frames, timestamps/lengths/interfaces and bytes as Wireshark reads them`, () => {
      const { frames, summary } = readAll(publicCorpus(file));
      expect(summary.format).toBe('pcapng');
      expect(summary.complete).toBe(true);
      expect(summary.warnings).toEqual([]);
      expect(frames.length).toBe(count);
      const lines = frames.map((f) => `${epoch(f)} ${f.caplen} ${f.origLen} ${f.interfaceId}\n`).join('');
      expect(sha16(lines)).toBe(meta);
      const h = createHash('sha256');
      for (const f of frames) h.update(f.data);
      expect(h.digest('hex').slice(0, 16)).toBe(data);
    });
  }

  it('zeek_pcapng_multi_interface.pcapng: per-interface resolution, ids, offsets', () => {
    const { frames, interfaces } = readAll(publicCorpus('zeek_pcapng_multi_interface.pcapng'));
    // IDB 0 at byte 132 (if_tsresol 9), IDB 1 at byte 200 (if_tsresol 6).
    expect(interfaces).toEqual([
      [1, 0, 132],
      [1, 1, 200],
    ]);
    expect(frames.map((f) => [f.interfaceId, epoch(f), f.caplen, f.offset])).toEqual([
      [0, '1767663089.500330493', 96, 348],
      [0, '1767663089.514291940', 214, 476],
      [1, '1767663437.111897000', 70, 724],
      [1, '1767663437.126460000', 166, 828],
      [1, '1767663437.128303000', 70, 1028],
      [1, '1767663437.140942000', 182, 1132],
    ]);
  });

  it('ndpi_wireguard.pcap is detected as pcapng despite its name', () => {
    const { frames, summary, interfaces } = readAll(publicCorpus('ndpi_wireguard.pcap'));
    expect(summary.format).toBe('pcapng');
    expect(interfaces).toEqual([[1, 0, 156]]); // its SHB carries options (156 bytes)
    expect(frames.length).toBe(52);
    expect([epoch(frames[0]!), frames[0]!.caplen]).toEqual(['1532126321.356858000', 190]);
    expect([epoch(frames[51]!), frames[51]!.caplen]).toEqual(['1563973564.026333000', 570]);
  });

  it('tcpdump_empty.pcapng: 0 frames, complete, one interface', () => {
    const { frames, summary, interfaces } = readAll(publicCorpus('tcpdump_empty.pcapng'));
    expect(frames.length).toBe(0);
    expect(summary.complete).toBe(true);
    expect(summary.frames).toBe(0);
    expect(interfaces).toEqual([[1, 0, 28]]);
  });
});

describe('timestamps (if_tsresol, if_tsoffset)', () => {
  // [options, ticks, expected epoch]
  const cases: [string, (le: boolean) => ReturnType<typeof optTsresol>[], bigint, string][] = [
    ['default µs', () => [], 1_700_000_000_123_456n, '1700000000.123456000'],
    ['10^-9', () => [optTsresol(9)], 1_700_000_000_123_456_789n, '1700000000.123456789'],
    ['10^-3', () => [optTsresol(3)], 1_700_000_000_123n, '1700000000.123000000'],
    ['10^0', () => [optTsresol(0)], 1_700_000_000n, '1700000000.000000000'],
    ['µs, max ticks', () => [optTsresol(6)], 0xffffffffffffffffn, '18446744073709.551615000'],
    ['ns, max ticks', () => [optTsresol(9)], 0xffffffffffffffffn, '18446744073.709551615'],
    // Next two: a float division of the 64-bit tick count would round up to the next second.
    ['ns, 1 tick below a second', () => [optTsresol(9)], 18_446_744_072_999_999_999n, '18446744072.999999999'],
    ['µs, 1 tick below a second', () => [], 18_446_744_073_708_999_999n, '18446744073708.999999000'],
    ['2^-20, half', () => [optTsresol(0x80 | 20)], (1_700_000_000n << 20n) + 524_288n, '1700000000.500000000'],
    ['2^-20, 1 tick', () => [optTsresol(0x80 | 20)], (1_700_000_000n << 20n) + 1n, '1700000000.000000953'],
    ['2^-32, half', () => [optTsresol(0x80 | 32)], (1_700_000_000n << 32n) + (1n << 31n), '1700000000.500000000'],
    ['2^-32, max frac', () => [optTsresol(0x80 | 32)], (1_700_000_000n << 32n) + 0xffffffffn, '1700000000.999999999'],
    ['2^0', () => [optTsresol(0x80)], 1_700_000_000n, '1700000000.000000000'],
    ['2^-10', () => [optTsresol(0x80 | 10)], 1_700_000_000n * 1024n + 256n, '1700000000.250000000'],
    ['10^-12 (BigInt path)', () => [optTsresol(12)], 1_000_000_123_456_789_012n, '1000000.123456789'],
    ['2^-40 (BigInt path)', () => [optTsresol(0x80 | 40)], (1_000_000n << 40n) + (1n << 39n) + 1n, '1000000.500000000'],
    ['if_tsoffset +1000 s', (le) => [optTsoffset(1000n, le)], 1_700_000_000_123_456n, '1700001000.123456000'],
    ['if_tsoffset negative', (le) => [optTsresol(9), optTsoffset(-1_700_000_000n, le)], 1_700_000_000_123_456_789n, '0.123456789'],
  ];

  for (const le of [true, false]) {
    it(`${le ? 'little' : 'big'}-endian section: every resolution converts exactly`, () => {
      const w = new PcapngBuilder().shb(le);
      cases.forEach(([, opts]) => w.idb(1, 65535, opts(le)));
      cases.forEach(([, , ticks], i) => w.epb(i, ticks, payload(20 + i, i)));
      const { frames, summary, interfaces } = readAll(tmp.write(`tsresol-${le}.pcapng`, w.bytes()));
      expect(summary.complete).toBe(true);
      expect(interfaces.map(([, id]) => id)).toEqual(cases.map((_, i) => i));
      expect(frames.map((f) => [f.interfaceId, epoch(f)])).toEqual(cases.map(([, , , want], i) => [i, want]));
      expect(frames.map((f) => f.caplen)).toEqual(cases.map((_, i) => 20 + i));
      expect(Array.from(frames[3]!.data)).toEqual(Array.from(payload(23, 3)));
    });
  }
});

describe('block types and sections', () => {
  it('SPB: interface 0, caplen = min(origlen, snaplen, block space), no timestamp', () => {
    const w = new PcapngBuilder()
      .shb()
      .idb(101, 64)
      .spb(payload(100), 100) // snaplen 64 wins
      .spb(payload(10), 10) // padded to 12 in the block; origlen 10 wins
      .spb(payload(20), 1000) // block holds 20 bytes
      .shb(false)
      .idb(228, 0) // snaplen 0: no limit
      .spb(payload(7), 7);
    const { frames, summary } = readAll(tmp.write('spb.pcapng', w.bytes()));
    expect(summary.complete).toBe(true);
    expect(frames.map((f) => [f.linkType, f.interfaceId, f.caplen, f.origLen, f.tsSec, f.tsNsec])).toEqual([
      [101, 0, 64, 100, 0, 0],
      [101, 0, 10, 10, 0, 0],
      [101, 0, 20, 1000, 0, 0],
      [228, 0, 7, 7, 0, 0],
    ]);
    expect(Array.from(frames[0]!.data)).toEqual(Array.from(payload(100).subarray(0, 64)));
    expect(frames.map((f) => f.offset)).toEqual([w.offsets[2], w.offsets[3], w.offsets[4], w.offsets[7]]);
  });

  it('obsolete Packet Block (type 2)', () => {
    const w = new PcapngBuilder().shb().idb(1, 0).idb(113, 0, [optTsresol(9)]).pb(1, 1_500_000_000_000_000_001n, payload(33), 40);
    const { frames } = readAll(tmp.write('pb.pcapng', w.bytes()));
    expect(frames.map((f) => [f.linkType, f.interfaceId, epoch(f), f.caplen, f.origLen])).toEqual([
      [113, 1, '1500000000.000000001', 33, 40],
    ]);
  });

  it('skips NRB, ISB, DSB, custom and unknown blocks by their length', () => {
    const w = new PcapngBuilder()
      .shb()
      .block(4, (b) => b.u16(1).u16(8).raw([10, 0, 0, 1, 0x61, 0x62, 0x63, 0]).u32(0)) // NRB
      .idb(1, 0)
      .epb(0, 1n, payload(10))
      .block(5, (b) => b.u32(0).u32(0).u32(0)) // ISB
      .block(0x0a, (b) => b.u32(0x544c534b).u32(4).raw([1, 2, 3, 4])) // DSB
      .block(0xbad, (b) => b.u32(32473).raw([9, 9, 9, 9])) // custom
      .block(0x40000bad, (b) => b.u32(32473))
      .block(0x12345678, (b) => b.raw(payload(40))) // unknown
      .epb(0, 2n, payload(11));
    const { frames, summary } = readAll(tmp.write('skip.pcapng', w.bytes()));
    expect(summary.complete).toBe(true);
    expect(summary.warnings).toEqual([]);
    expect(frames.map((f) => [f.caplen, f.tsNsec])).toEqual([
      [10, 1000],
      [11, 2000],
    ]);
  });

  it('sections switch byte order and reset the interface table', () => {
    const w = new PcapngBuilder()
      .shb(true)
      .idb(1, 0)
      .idb(113, 0)
      .epb(1, 5n, payload(30)) // block 3
      .shb(false)
      .idb(101, 0, [optTsresol(9)])
      .epb(0, 1_000_000_007n, payload(31)) // block 6
      .epb(1, 1n, payload(32)) // block 7: interface 1 does not exist in this section
      .shb(true)
      .idb(276, 0)
      .epb(0, 2_000_000n, payload(33)); // block 10
    const { frames, summary, interfaces } = readAll(tmp.write('sections.pcapng', w.bytes()));
    expect(interfaces).toEqual([
      [1, 0, w.offsets[1]],
      [113, 1, w.offsets[2]],
      [101, 0, w.offsets[5]],
      [276, 0, w.offsets[9]],
    ]);
    expect(frames.map((f) => [f.linkType, f.interfaceId, epoch(f), f.caplen, f.offset])).toEqual([
      [113, 1, '0.000005000', 30, w.offsets[3]],
      [101, 0, '1.000000007', 31, w.offsets[6]],
      [276, 0, '2.000000000', 33, w.offsets[10]],
    ]);
    expect(summary.complete).toBe(false);
    expect(summary.stopped?.code).toBe('capture-corrupt');
    expect(summary.stopped?.offset).toBe(w.offsets[7]);
    expect(summary.stopped?.message).toContain('refers to interface 1 but the section has 1 interface(s)');
  });

  it('skips an EPB whose caplen exceeds its block', () => {
    const w = new PcapngBuilder().shb().idb(1, 0).epb(0, 1n, payload(8), 8, 200).epb(0, 2n, payload(9));
    const { frames, summary } = readAll(tmp.write('epb-caplen.pcapng', w.bytes()));
    expect(frames.map((f) => f.caplen)).toEqual([9]);
    expect(summary.stopped?.code).toBe('capture-corrupt');
    expect(summary.stopped?.offset).toBe(w.offsets[2]);
  });

  it('bounds warnings: keeps 20 and counts the rest', () => {
    const w = new PcapngBuilder().shb().idb(1, 0);
    for (let i = 0; i < 25; i++) w.epb(5, BigInt(i), payload(4));
    w.epb(0, 99n, payload(4));
    const { frames, summary } = readAll(tmp.write('many.pcapng', w.bytes()));
    expect(frames.length).toBe(1);
    expect(summary.warnings.length).toBe(21);
    expect(summary.warnings[0]).toContain(`byte ${w.offsets[2]}: enhanced packet block refers to interface 5`);
    expect(summary.warnings[20]).toBe('5 more warnings not shown');
    expect(summary.stopped?.offset).toBe(w.offsets[2]);
  });
});

describe('damaged pcapng', () => {
  // ndpi_http.pcapng: SHB 0, IDB 216, EPBs at 288 396 504 604 776 876 1504 1604 1704 1804, ISB 1904 (108 bytes).
  let original: Uint8Array;
  let reference: CopiedFrame[];
  corpusBeforeAll(() => {
    original = new Uint8Array(readFileSync(publicCorpus('ndpi_http.pcapng')));
    reference = readAll(publicCorpus('ndpi_http.pcapng')).frames;
  });
  const without = (i: number): CopiedFrame[] => reference.filter((_, k) => k !== i);

  function damaged(name: string, edit: (b: Uint8Array, v: DataView) => void): string {
    const b = Uint8Array.from(original);
    edit(b, new DataView(b.buffer));
    return tmp.write(name, b);
  }

  /** Reads with several chunk sizes; all must agree; returns the default-size result. */
  function readChunked(path: string): ReadResult {
    const all = [7, 64, 4096, undefined].map((chunkSize) => readAll(path, chunkSize === undefined ? {} : { chunkSize }));
    const r = all[3]!;
    for (const o of all) {
      expect(fingerprint(o.frames)).toEqual(fingerprint(r.frames));
      expect(o.summary.warnings).toEqual(r.summary.warnings);
      expect(o.summary.stopped?.message).toBe(r.summary.stopped?.message);
    }
    return r;
  }

  corpusIt('sanity: the reference file has the expected layout', () => {
    expect(reference.map((f) => f.offset)).toEqual([288, 396, 504, 604, 776, 876, 1504, 1604, 1704, 1804]);
  });

  const lengthDamage: [string, (v: DataView) => void][] = [
    ['length > 16 MiB', (v) => v.setUint32(604 + 4, 0xfffffff0, true)],
    ['length + 4 (trailing copy disagrees)', (v) => v.setUint32(604 + 4, 176, true)],
    ['length not a multiple of 4', (v) => v.setUint32(604 + 4, 174, true)],
    ['length < 12', (v) => v.setUint32(604 + 4, 8, true)],
    ['trailing copy damaged', (v) => v.setUint32(604 + 172 - 4, 0x01020304, true)],
    ['block type and length overwritten', (v) => { v.setUint32(604, 0xdeadbeef, true); v.setUint32(608, 0xdeadbeef, true); }],
  ];
  for (const [what, edit] of lengthDamage) {
    corpusIt(`EPB 4 with ${what}: resynchronises at EPB 5 and delivers the other 9 frames`, () => {
      const r = readChunked(damaged('len.pcapng', (_, v) => edit(v)));
      expect(r.frames).toEqual(without(3));
      expect(r.summary.frames).toBe(9);
      expect(r.summary.complete).toBe(false);
      expect(r.summary.stopped?.code).toBe('capture-corrupt');
      expect(r.summary.stopped?.offset).toBe(604);
      expect(r.summary.warnings).toContain('resynchronised at byte 776 after the corrupt block at byte 604 (172 bytes skipped)');
      expect(r.summary.bytesRead).toBe(original.length);
    });
  }

  corpusIt('last EPB claiming more bytes than the file holds, with a valid block after it: corrupt, resynchronised', () => {
    const r = readChunked(damaged('last.pcapng', (_, v) => v.setUint32(1804 + 4, 0x100000, true)));
    expect(r.frames).toEqual(without(9));
    expect(r.summary.stopped?.code).toBe('capture-corrupt');
    expect(r.summary.stopped?.offset).toBe(1804);
    expect(r.summary.warnings).toContain('resynchronised at byte 1904 after the corrupt block at byte 1804 (100 bytes skipped)');
  });

  corpusIt('last block claiming more bytes than the file holds, nothing after: truncated', () => {
    const r = readChunked(damaged('isb.pcapng', (_, v) => v.setUint32(1904 + 4, 4096, true)));
    expect(r.frames).toEqual(reference);
    expect(r.summary.stopped?.code).toBe('capture-truncated');
    expect(r.summary.stopped?.offset).toBe(1904);
    expect(r.summary.stopped?.message).toContain('file ends in the middle of a block at byte 1904: 108 of 4096 bytes present');
  });

  corpusIt('file cut inside EPB 5: 4 frames, truncated', () => {
    const r = readChunked(tmp.write('cut.pcapng', original.subarray(0, 800)));
    expect(r.frames).toEqual(reference.slice(0, 4));
    expect(r.summary.stopped?.code).toBe('capture-truncated');
    expect(r.summary.stopped?.offset).toBe(776);
    expect(r.summary.stopped?.message).toContain('24 of 100 bytes present');
  });

  corpusIt('file cut inside a block header: truncated', () => {
    const r = readChunked(tmp.write('cut-hdr.pcapng', original.subarray(0, 780)));
    expect(r.frames.length).toBe(4);
    expect(r.summary.stopped?.message).toContain('at byte 776: 4 of 8 bytes present');
  });

  corpusIt('corrupt block followed by garbage only: stops, frames before are delivered', () => {
    const path = damaged('garbage.pcapng', (b, v) => {
      v.setUint32(604 + 4, 0xfffffff0, true);
      b.fill(0xee, 776);
    });
    const r = readChunked(path);
    expect(r.frames).toEqual(reference.slice(0, 3));
    expect(r.summary.complete).toBe(false);
    expect(r.summary.stopped?.code).toBe('capture-corrupt');
    expect(r.summary.stopped?.offset).toBe(604);
    expect(r.summary.stopped?.message).toContain('no valid block found before the end of the file');
  });

  it('looks for the next block within 1 MiB only', () => {
    const build = (gap: number): PcapngBuilder =>
      new PcapngBuilder()
        .shb()
        .idb(1, 0)
        .epb(0, 1n, payload(20))
        .block(6, (b) => b.raw(payload(20)), { lengthOverride: 0x7fffffff })
        .raw(new Uint8Array(gap))
        .epb(0, 2n, payload(21));
    const near = build(900 * 1024);
    const r1 = readAll(tmp.write('near.pcapng', near.bytes()));
    expect(r1.frames.map((f) => f.caplen)).toEqual([20, 21]);
    expect(r1.summary.stopped?.offset).toBe(near.offsets[3]);
    expect(r1.summary.warnings).toContain(
      `resynchronised at byte ${near.offsets[4]} after the corrupt block at byte ${near.offsets[3]} (${near.offsets[4]! - near.offsets[3]!} bytes skipped)`,
    );

    const far = build(1100 * 1024);
    const r2 = readAll(tmp.write('far.pcapng', far.bytes()), { chunkSize: 64 * 1024 });
    expect(r2.frames.map((f) => f.caplen)).toEqual([20]);
    expect(r2.summary.stopped?.code).toBe('capture-corrupt');
    expect(r2.summary.stopped?.offset).toBe(far.offsets[3]);
    expect(r2.summary.stopped?.message).toContain('no valid block found within 1048576 bytes');
    expect(r2.summary.bytesRead).toBeLessThan(far.bytes().length);
  });

  corpusIt('first section header damaged: capture-format is thrown', () => {
    const bom = damaged('bom.pcapng', (b) => b.fill(0, 8, 12));
    expect(() => readCaptureFile(bom, () => undefined)).toThrow(
      expect.objectContaining({ code: 'capture-format', message: expect.stringContaining('byte-order magic 0x00000000') }),
    );
    const trailer = damaged('shb-trailer.pcapng', (_, v) => v.setUint32(212, 0, true));
    expect(() => readCaptureFile(trailer, () => undefined)).toThrow(expect.objectContaining({ code: 'capture-format' }));
    const version = damaged('shb-version.pcapng', (_, v) => v.setUint16(12, 2, true));
    expect(() => readCaptureFile(version, () => undefined)).toThrow(
      expect.objectContaining({ code: 'capture-format', message: expect.stringContaining('version 2.0') }),
    );
    const short = tmp.write('short.pcapng', original.subarray(0, 20));
    expect(() => readCaptureFile(short, () => undefined)).toThrow(
      expect.objectContaining({ code: 'capture-format', message: expect.stringContaining('20 of 28 bytes') }),
    );
  });
});
