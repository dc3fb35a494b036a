import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFormat, readCaptureFile } from '../../src/capture/file.js';
import type { RawFrame } from '../../src/capture/frame.js';
import { linkTypeName } from '../../src/capture/linktypes.js';
import { CaptureError } from '../../src/model/errors.js';
import { corpusDescribe, corpusIt, publicCorpus } from '../helpers/corpus.js';
import { pcapBytes } from '../helpers/pcap.js';
import { PcapngBuilder } from '../helpers/pcapng.js';
import { fingerprint, payload, readAll, TmpDir } from './helpers.js';

const tmp = new TmpDir();
afterAll(() => tmp.cleanup());

describe('readCaptureFile errors', () => {
  it('missing file: throws capture-io naming the file', () => {
    const path = join(tmp.dir, 'does-not-exist.pcap');
    let err: unknown;
    try {
      readCaptureFile(path, () => undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe('capture-io');
    expect((err as CaptureError).message).toContain('does-not-exist.pcap');
    expect((err as CaptureError).message).toContain('ENOENT');
  });

  it('a directory: throws capture-io', () => {
    expect(() => readCaptureFile(tmp.dir, () => undefined)).toThrow(expect.objectContaining({ code: 'capture-io' }));
  });

  corpusIt('not a capture (INDEX.tsv): throws capture-format with the magic', () => {
    let err: unknown;
    try {
      readCaptureFile(publicCorpus('INDEX.tsv'), () => undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe('capture-format');
    expect((err as CaptureError).offset).toBe(0);
    // "file" in ASCII
    expect((err as CaptureError).message).toContain('not a pcap or pcapng file (magic 0x66696c65)');
  });

  it('empty and 3-byte files: throw capture-format', () => {
    expect(() => readCaptureFile(tmp.write('empty.bin', new Uint8Array(0)), () => undefined)).toThrow(
      expect.objectContaining({ code: 'capture-format', message: expect.stringContaining('only 0 bytes') }),
    );
    expect(() => readCaptureFile(tmp.write('three.bin', Uint8Array.of(0xd4, 0xc3, 0xb2)), () => undefined)).toThrow(
      expect.objectContaining({ code: 'capture-format', message: expect.stringContaining('only 3 bytes') }),
    );
  });

  corpusIt('empty pcap (header only): 0 frames, complete', () => {
    const { summary, frames, interfaces } = readAll(publicCorpus('tcpdump_empty.pcap'));
    expect(frames.length).toBe(0);
    expect(summary).toEqual({
      file: publicCorpus('tcpdump_empty.pcap'),
      format: 'pcap',
      frames: 0,
      bytesRead: 24,
      fileSize: 24,
      complete: true,
      warnings: [],
    });
    expect(interfaces).toEqual([[1, 0, 0]]);
  });
});

corpusDescribe('callbacks', () => {
  it('a throw from onInterface propagates (pcap: before any frame)', () => {
    const boom = new CaptureError('unsupported-linktype', 'x', 0, 'LINKTYPE 160');
    let frames = 0;
    expect(() =>
      readCaptureFile(publicCorpus('tcpdump_unsupported_linktype_160.pcap'), () => frames++, {
        onInterface: (lt) => {
          if (lt === 160) throw boom;
        },
      }),
    ).toThrow(boom);
    expect(frames).toBe(0);
  });

  it('a throw from onInterface propagates (pcapng: at the second IDB, after the frames of the first)', () => {
    const seen: number[] = [];
    class Stop extends Error {}
    expect(() =>
      readCaptureFile(publicCorpus('zeek_pcapng_multi_interface.pcapng'), (f) => seen.push(f.interfaceId), {
        onInterface: (_lt, id) => {
          if (id === 1) throw new Stop('no');
        },
      }),
    ).toThrow(Stop);
    // Both IDBs precede the packets in this file, so nothing was delivered.
    expect(seen).toEqual([]);

    const w = new PcapngBuilder().shb().idb(1, 0).epb(0, 1n, payload(10)).idb(999, 0).epb(1, 2n, payload(11));
    const got: number[] = [];
    expect(() =>
      readCaptureFile(tmp.write('late-idb.pcapng', w.bytes()), (f) => got.push(f.caplen), {
        onInterface: (lt) => {
          if (lt === 999) throw new Stop('999');
        },
      }),
    ).toThrow('999');
    expect(got).toEqual([10]);
  });

  it('a throw from onFrame propagates', () => {
    expect(() =>
      readCaptureFile(publicCorpus('zeek_http_get.pcap'), (f) => {
        if (f.offset > 1000) throw new RangeError('stop here');
      }),
    ).toThrow(RangeError);
  });

  it('onProgress: once per chunk, increasing, ends at the file size', () => {
    const path = publicCorpus('sv_http_mime_truncated_eof.pcap');
    const size = statSync(path).size;
    const calls: [number, number][] = [];
    const s = readCaptureFile(path, () => undefined, { chunkSize: 64 * 1024, onProgress: (r, t) => calls.push([r, t]) });
    expect(calls.length).toBeGreaterThanOrEqual(Math.ceil(size / (64 * 1024)));
    expect(calls.length).toBeLessThan(2 * Math.ceil(size / (64 * 1024)));
    let prev = 0;
    for (const [r, t] of calls) {
      expect(t).toBe(size);
      expect(r).toBeGreaterThan(prev);
      expect(r - prev).toBeLessThanOrEqual(64 * 1024);
      prev = r;
    }
    expect(prev).toBe(size);
    expect(s.bytesRead).toBe(size);
  });

  it('frame data is a view into the chunk buffer, not a copy', () => {
    const buffers = new Set<ArrayBufferLike>();
    let n = 0;
    readCaptureFile(publicCorpus('ndpi_443-curl.pcap'), (f) => {
      n++;
      expect(f.data.length).toBe(f.caplen);
      expect(f.data.buffer.byteLength).toBeGreaterThan(70_000); // the whole 1 MiB chunk, not the packet
      buffers.add(f.data.buffer);
    });
    expect(n).toBe(109);
    expect(buffers.size).toBe(1);
  });
});

describe('chunk boundaries', () => {
  const files = [
    'zeek_http_get.pcap',
    'ndpi_1kxun.pcap', // 2.5 MB, records up to 37506 bytes
    'tcpdump_tcp_handshake_nano.pcap',
    'sv_http_mime_truncated_eof.pcap',
    'sv_fuzz_bad_caplen.pcap',
    'zeek_pcapng_multi_interface.pcapng',
    'ndpi_tls_with_huge_ch.pcapng',
    'tcpdump_empty.pcapng',
  ];
  for (const f of files) {
    corpusIt(`${f}: chunk sizes 7, 64, 4096 and default give identical frames`, () => {
      const runs = [7, 64, 4096, undefined].map((chunkSize) => {
        const frames: RawFrame[] = [];
        const summary = readCaptureFile(publicCorpus(f), (fr) => frames.push({ ...fr, data: fr.data.slice() }), chunkSize === undefined ? {} : { chunkSize });
        return { frames, summary };
      });
      const ref = runs[3]!;
      expect(ref.frames.length).toBe(ref.summary.frames);
      for (const r of runs.slice(0, 3)) {
        expect(r.frames.length).toBe(ref.frames.length);
        expect(fingerprint(r.frames)).toEqual(fingerprint(ref.frames));
        expect(r.summary.complete).toBe(ref.summary.complete);
        expect(r.summary.stopped?.code).toBe(ref.summary.stopped?.code);
        expect(r.summary.stopped?.offset).toBe(ref.summary.stopped?.offset);
        expect(r.summary.frames).toBe(ref.summary.frames);
      }
    });
  }

  corpusIt('the frame counts behind those comparisons are the known ones', () => {
    expect(readAll(publicCorpus('ndpi_1kxun.pcap'), { chunkSize: 7 }).frames.length).toBe(1723);
    expect(readAll(publicCorpus('ndpi_tls_with_huge_ch.pcapng'), { chunkSize: 7 }).frames.length).toBe(428);
  });

  it('a record larger than the chunk grows the buffer', () => {
    const big = payload(200_000, 3);
    const path = tmp.write('big.pcap', pcapBytes([{ sec: 1, nsec: 0, data: payload(10) }, { sec: 2, nsec: 0, data: big }]));
    const { frames, summary } = readAll(path, { chunkSize: 4096 });
    expect(summary.complete).toBe(true);
    expect(frames.map((f) => f.caplen)).toEqual([10, 200_000]);
    expect(Buffer.compare(Buffer.from(frames[1]!.data), Buffer.from(big))).toBe(0);
  });
});

describe('detectFormat and linkTypeName', () => {
  it('detectFormat', () => {
    expect(detectFormat(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1))).toBe('pcap');
    expect(detectFormat(Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4))).toBe('pcap');
    expect(detectFormat(Uint8Array.of(0x4d, 0x3c, 0xb2, 0xa1))).toBe('pcap');
    expect(detectFormat(Uint8Array.of(0xa1, 0xb2, 0x3c, 0x4d, 0, 0))).toBe('pcap');
    expect(detectFormat(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0))).toBe('pcapng');
    expect(detectFormat(Uint8Array.of(0xd4, 0xc3, 0xb2))).toBeUndefined();
    expect(detectFormat(Uint8Array.of(0xa1, 0xb2, 0xcd, 0x34))).toBeUndefined(); // Kuznetzov "modified" pcap
    expect(detectFormat(new TextEncoder().encode('GET / HTTP/1.1'))).toBeUndefined();
  });

  it('linkTypeName', () => {
    expect([0, 1, 12, 14, 101, 108, 113, 276, 228, 229].map(linkTypeName)).toEqual([
      'NULL',
      'EN10MB',
      'RAW',
      'RAW',
      'RAW',
      'LOOP',
      'LINUX_SLL',
      'LINUX_SLL2',
      'IPV4',
      'IPV6',
    ]);
    expect([147, 160, 161, 162].map(linkTypeName)).toEqual(['USER0', 'USER13', 'USER14', 'USER15']);
    expect(linkTypeName(9999)).toBe('LINKTYPE 9999');
    expect(linkTypeName(146)).toBe('LINKTYPE 146');
  });
});
