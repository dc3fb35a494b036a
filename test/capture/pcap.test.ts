import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/file.js';
import { PcapParser } from '../../src/capture/pcap.js';
import type { RawFrame } from '../../src/capture/frame.js';
import { corpusCases, corpusDescribe, corpusIt, publicCorpus } from '../helpers/corpus.js';
import { pcapBytes, swapPcap } from '../helpers/pcap.js';
import { epoch, payload, readAll, readIndex, TmpDir } from './helpers.js';

const require = createRequire(import.meta.url);

interface PpPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}
interface PpParser {
  on(ev: 'packet', cb: (p: PpPacket) => void): PpParser;
  on(ev: 'end', cb: () => void): PpParser;
  on(ev: 'error', cb: (e: Error) => void): PpParser;
}
const pcapp = require('pcap-parser') as { parse(input: string): PpParser };

/** Reads a file with the pcap-parser npm package (the oracle). */
function oracle(path: string): Promise<PpPacket[]> {
  return new Promise((resolve, reject) => {
    const packets: PpPacket[] = [];
    let failed: Error | undefined;
    pcapp
      .parse(path)
      .on('packet', (p) => packets.push({ header: { ...p.header }, data: Buffer.from(p.data) }))
      .on('error', (e) => {
        failed = e;
        reject(e);
      })
      // pcap-parser emits 'end' after 'error' too.
      .on('end', () => {
        if (failed === undefined) resolve(packets);
      });
  });
}

const tmp = new TmpDir();
afterAll(() => tmp.cleanup());

const index = corpusCases(readIndex);

corpusDescribe('classic pcap against the pcap-parser oracle', () => {
  // Every microsecond pcap of the public set. Excluded, because pcap-parser cannot read them:
  // - nanosecond pcaps (capinfos_format 'nsecpcap': magic a1b23c4d; pcap-parser rejects the magic):
  //   tcpdump_tcp_handshake_nano.pcap, ndpi_fuzz_2021-10-13_cut_short.pcap;
  // - pcapng files (ndpi_wireguard.pcap is pcapng despite its name).
  // Damaged microsecond files stay in: pcap-parser silently drops a truncated last record
  // (sv_http_mime_truncated_eof.pcap) and waits forever for a record claiming 1.4 GB
  // (sv_fuzz_bad_caplen.pcap), so on those it delivers exactly the frames before the damage, as we do;
  // the damage itself is checked in 'damaged files' below.
  const files = index.filter((r) => r.capinfosFormat === 'pcap').map((r) => r.filename);

  it('covers the microsecond pcaps of INDEX.tsv', () => {
    expect(files.length).toBeGreaterThanOrEqual(45);
    for (const f of files) {
      const magic = readFileSync(publicCorpus(f)).subarray(0, 4).toString('hex');
      expect(['d4c3b2a1', 'a1b2c3d4']).toContain(magic);
    }
  });

  for (const f of files) {
    it(f, async () => {
      const expected = await oracle(publicCorpus(f));
      const { frames, summary } = readAll(publicCorpus(f));
      expect(summary.format).toBe('pcap');
      expect(frames.length).toBe(expected.length);
      for (let i = 0; i < frames.length; i++) {
        const a = frames[i]!;
        const e = expected[i]!;
        expect(a.tsSec, `${f} #${i + 1} ts sec`).toBe(e.header.timestampSeconds);
        expect(a.tsNsec, `${f} #${i + 1} ts µs`).toBe(e.header.timestampMicroseconds * 1000);
        expect(a.caplen, `${f} #${i + 1} caplen`).toBe(e.header.capturedLength);
        expect(a.data.length).toBe(a.caplen);
        expect(a.origLen, `${f} #${i + 1} origlen`).toBe(e.header.originalLength);
        expect(Buffer.compare(Buffer.from(a.data), e.data), `${f} #${i + 1} bytes`).toBe(0);
        expect(a.interfaceId).toBe(0);
      }
      // Frame offsets chain: 24-byte header, then 16-byte record headers.
      let off = 24;
      for (const fr of frames) {
        expect(fr.offset).toBe(off);
        off += 16 + fr.caplen;
      }
    });
  }
});

corpusDescribe('frame counts against INDEX.tsv', () => {
  // sv_fuzz_bad_caplen.pcap: '1 readable per tcpdump (2 per capinfos)'; we agree with tcpdump.
  const rows = index;
  it('has every file', () => {
    expect(index.length).toBeGreaterThanOrEqual(60);
  });
  for (const r of rows) {
    it(`${r.filename}: ${r.packets} frames`, () => {
      const { summary, frames } = readAll(publicCorpus(r.filename));
      expect(summary.frames).toBe(r.packets);
      expect(frames.length).toBe(r.packets);
      expect(summary.format).toBe(r.capinfosFormat === 'pcapng' ? 'pcapng' : 'pcap');
      const broken = /error|invalid caplen/.test(r.packetsText);
      expect(summary.complete).toBe(!broken);
      if (!broken) {
        expect(summary.bytesRead).toBe(summary.fileSize);
        expect(summary.stopped).toBeUndefined();
      }
    });
  }
});

corpusDescribe('nanosecond and byte order', () => {
  it('reads a nanosecond pcap (tcpdump_tcp_handshake_nano.pcap)', () => {
    const { frames, summary, interfaces } = readAll(publicCorpus('tcpdump_tcp_handshake_nano.pcap'));
    expect(summary.complete).toBe(true);
    // Values from tshark -T fields -e frame.time_epoch -e frame.cap_len -e frame.len
    expect(frames.map((f) => [epoch(f), f.caplen, f.origLen, f.linkType])).toEqual([
      ['1418145369.924505488', 76, 76, 113],
      ['1418145370.052027262', 76, 76, 113],
      ['1418145370.052115157', 68, 68, 113],
    ]);
    expect(interfaces).toEqual([[113, 0, 0]]);
  });

  it('keeps out-of-range microsecond fractions as they are (tcpdump_timestamp_invalid_micro.pcap)', () => {
    const { frames, summary } = readAll(publicCorpus('tcpdump_timestamp_invalid_micro.pcap'));
    expect(summary.complete).toBe(true);
    expect(frames.map((f) => [f.tsSec, f.tsNsec])).toEqual([
      [1418145369, 999_999_000],
      [1418145370, 1_000_000_000],
      [1418145370, 2_147_483_648_000],
    ]);
  });

  it('reads a big-endian copy of a little-endian file identically', () => {
    const src = readFileSync(publicCorpus('zeek_http_get.pcap'));
    const be = swapPcap(src);
    expect(Buffer.from(be.subarray(0, 4)).toString('hex')).toBe('a1b2c3d4');
    expect(Buffer.compare(Buffer.from(be), src)).not.toBe(0);
    const a = readAll(publicCorpus('zeek_http_get.pcap'));
    const b = readAll(tmp.write('be.pcap', be));
    expect(b.summary.complete).toBe(true);
    expect(b.frames.length).toBe(14);
    expect(b.frames).toEqual(a.frames);
    expect(b.interfaces).toEqual([[1, 0, 0]]);
  });

  it('reads a big-endian nanosecond pcap', () => {
    const be = swapPcap(readFileSync(publicCorpus('tcpdump_tcp_handshake_nano.pcap')));
    expect(Buffer.from(be.subarray(0, 4)).toString('hex')).toBe('a1b23c4d');
    const { frames } = readAll(tmp.write('be-nano.pcap', be));
    expect(frames.map(epoch)).toEqual(['1418145369.924505488', '1418145370.052027262', '1418145370.052115157']);
  });

  it('keeps the low 16 bits of the link type field (FCS bits set: 0x30000001)', () => {
    const { interfaces, frames } = readAll(publicCorpus('tcpdump_tcp_header_heapoverflow.pcap'));
    expect(interfaces).toEqual([[1, 0, 0]]);
    expect(frames[0]!.linkType).toBe(1);
  });

  it('tolerates snaplen 0 and caplen > snaplen up to 256 KiB', () => {
    const big = payload(262_144);
    const bytes = pcapBytes([{ sec: 1, nsec: 2, data: payload(100) }, { sec: 3, nsec: 4, data: big }], { snaplen: 0 });
    const { frames, summary } = readAll(tmp.write('snap0.pcap', bytes));
    expect(summary.complete).toBe(true);
    expect(frames.map((f) => f.caplen)).toEqual([100, 262_144]);
    expect(Buffer.compare(Buffer.from(frames[1]!.data), Buffer.from(big))).toBe(0);
    // zeek_trunc_hdr_snaplen1.pcap: snaplen 1, caplen 8
    const z = readAll(publicCorpus('zeek_trunc_hdr_snaplen1.pcap'));
    expect(z.frames.map((f) => [f.caplen, f.origLen])).toEqual([[8, 78]]);
    expect(z.summary.complete).toBe(true);
  });

  it('reports the link type of USER13 files', () => {
    const { frames } = readAll(publicCorpus('tcpdump_unsupported_linktype_160.pcap'));
    expect(frames.map((f) => f.linkType)).toEqual([160]);
  });
});

describe('damaged pcap files', () => {
  corpusIt('sv_fuzz_bad_caplen.pcap: delivers the first frame, then stops at the corrupt caplen', () => {
    const { frames, summary } = readAll(publicCorpus('sv_fuzz_bad_caplen.pcap'));
    expect(frames.length).toBe(1);
    expect(frames[0]!.caplen).toBe(188);
    expect(summary.complete).toBe(false);
    expect(summary.stopped?.code).toBe('capture-corrupt');
    expect(summary.stopped?.offset).toBe(228); // 24 + 16 + 188
    expect(summary.stopped?.message).toContain('1409179648');
    expect(summary.stopped?.message).toContain('sv_fuzz_bad_caplen.pcap at byte 228');
  });

  corpusIt('ndpi_fuzz_2021-10-13_cut_short.pcap: a version 2.0 file has caplen and len swapped, as libpcap reads it', () => {
    const { frames, summary, interfaces } = readAll(publicCorpus('ndpi_fuzz_2021-10-13_cut_short.pcap'));
    // Header: ns magic, version 2.0, snaplen 0, link type field 0x40000000 → NULL (0). The record
    // says caplen 524501, len 197: swapped back, 197 bytes are captured (as libpcap and Wireshark do).
    expect(interfaces).toEqual([[0, 0, 0]]);
    expect(frames.map((f) => [f.caplen, f.origLen])).toEqual([[197, 524501]]);
    expect(summary.complete).toBe(false);
    expect(summary.stopped?.code).toBe('capture-truncated');
    expect(summary.stopped?.offset).toBe(237);
  });

  it('a version 2.3 file swaps only records whose caplen exceeds len', () => {
    // First record: caplen 60, len 1500 (normal). Second: 40 bytes, with caplen and len swapped (9000, 40).
    const bytes = pcapBytes(
      [
        { ts: 1, data: new Uint8Array(60), origLen: 1500 },
        { ts: 2, data: new Uint8Array(40), origLen: 40, caplen: 9000 },
      ],
      { version: [2, 3] },
    );
    const out = readAll(tmp.write('v23.pcap', bytes));
    expect(out.frames.map((f) => [f.caplen, f.origLen])).toEqual([[60, 1500], [40, 9000]]);
    expect(out.summary.complete).toBe(true);
  });

  corpusIt('sv_http_mime_truncated_eof.pcap: 2696 frames, then a truncated record is reported', () => {
    const { frames, summary } = readAll(publicCorpus('sv_http_mime_truncated_eof.pcap'));
    expect(frames.length).toBe(2696);
    expect(summary.frames).toBe(2696);
    expect(summary.complete).toBe(false);
    expect(summary.stopped?.code).toBe('capture-truncated');
    expect(summary.stopped?.offset).toBe(2_715_459);
    expect(summary.stopped?.message).toContain(
      'file ends in the middle of a record at byte 2715459: 1 of 16 bytes present',
    );
    expect(summary.bytesRead).toBe(2_715_460);
    expect(summary.fileSize).toBe(2_715_460);
  });

  it('reports a record cut inside its data with the bytes present', () => {
    const full = pcapBytes([{ sec: 1, nsec: 1, data: payload(60) }, { sec: 2, nsec: 2, data: payload(100) }]);
    const cut = full.subarray(0, 24 + 16 + 60 + 16 + 40);
    const { frames, summary } = readAll(tmp.write('cut.pcap', cut));
    expect(frames.length).toBe(1);
    expect(summary.stopped?.code).toBe('capture-truncated');
    expect(summary.stopped?.offset).toBe(100);
    expect(summary.stopped?.message).toContain('at byte 100: 56 of 116 bytes present');
  });

  it('detects caplen 0x7fffffff in constant memory', () => {
    // One good record, a record header claiming 2 GiB, then 4 MiB of filler the reader must not wait for.
    const head = pcapBytes([{ sec: 1, nsec: 1, data: payload(50) }, { sec: 2, nsec: 2, data: new Uint8Array(0), caplen: 0x7fffffff }]);
    const bytes = new Uint8Array(head.length + 4 * 1024 * 1024);
    bytes.set(head);
    const path = tmp.write('huge-caplen.pcap', bytes);
    const { frames, summary } = readAll(path, { chunkSize: 64 * 1024 });
    expect(frames.length).toBe(1);
    expect(summary.stopped?.code).toBe('capture-corrupt');
    expect(summary.stopped?.offset).toBe(24 + 16 + 50);
    expect(summary.stopped?.message).toContain('2147483647');
    // Stopped after the first chunk: did not read the rest of the file looking for 2 GiB.
    expect(summary.bytesRead).toBe(64 * 1024);

    // The parser itself decides on the record header alone, without asking for more bytes.
    const p = new PcapParser('x.pcap', () => undefined);
    const hdr = head.subarray(0, 24 + 16 + 50 + 16);
    const consumed = p.push(hdr, new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength), 0, hdr.length, 0, false);
    expect(consumed).toBe(hdr.length);
    expect(p.done).toBe(true);
    expect(p.need).toBe(0);
    expect(p.frames).toBe(1);
    expect(p.stopped?.code).toBe('capture-corrupt');
  });

  it('throws capture-format for a header-only file that is too short and for version 1.x', () => {
    const hdr = pcapBytes([]);
    expect(() => readCaptureFile(tmp.write('short.pcap', hdr.subarray(0, 20)), () => undefined)).toThrow(
      expect.objectContaining({ code: 'capture-format', message: expect.stringContaining('20 of 24 bytes') }),
    );
    const v1 = pcapBytes([], { version: [1, 4] });
    expect(() => readCaptureFile(tmp.write('v1.pcap', v1), () => undefined)).toThrow(
      expect.objectContaining({ code: 'capture-format', message: expect.stringContaining('version 1.4') }),
    );
  });
});

describe('incremental parser', () => {
  corpusIt('gives the same frames fed one byte at a time', () => {
    const bytes = new Uint8Array(readFileSync(publicCorpus('zeek_tls13_psk.pcap')));
    const whole: RawFrame[] = [];
    readCaptureFile(publicCorpus('zeek_tls13_psk.pcap'), (f) => whole.push({ ...f, data: f.data.slice() }));
    const got: RawFrame[] = [];
    const p = new PcapParser('x', (f) => got.push({ ...f, data: f.data.slice() }));
    // Feed growing windows of the same buffer, one more byte each time, as a stream would.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    for (let end = 1; end <= bytes.length; end++) {
      start += p.push(bytes, view, start, end, start, false);
    }
    p.push(bytes, view, start, bytes.length, start, true);
    expect(p.done).toBe(true);
    expect(p.stopped).toBeUndefined();
    expect(got.length).toBe(20);
    expect(got).toEqual(whole);
  });
});

describe('the reader\'s reused frame', () => {
  corpusIt('points into the read buffer for the decoder, and a copy carries only its own bytes', () => {
    const frames: RawFrame[] = [];
    const seen: { chunkLength: number; at: number; bytes: number[] }[] = [];
    readCaptureFile(publicCorpus('zeek_tls13_psk.pcap'), (f) => {
      const chunk = f.chunk as Uint8Array;
      const at = f.chunkOffset as number;
      seen.push({ chunkLength: chunk.length, at, bytes: [...chunk.subarray(at, at + f.caplen)] });
      frames.push({ ...f, data: f.data.slice() });
    });
    expect(frames.length).toBeGreaterThan(5);
    frames.forEach((copy, i) => {
      expect([...copy.data]).toEqual(seen[i]!.bytes); // data is exactly chunk[at, at + caplen)
      expect(seen[i]!.chunkLength).toBeGreaterThan(copy.caplen); // the whole read buffer, not a view
      expect('chunk' in copy).toBe(false); // the copy does not keep the reader's buffer alive
      expect(Object.keys(copy).sort()).toEqual(['caplen', 'data', 'interfaceId', 'linkType', 'offset', 'origLen', 'tsNsec', 'tsSec']);
    });
  });
});
