/**
 * Evidence writer (src/capture/pcap-writer.ts): frames read from public captures are written to .pcap
 * and .pcapng, read back with our reader (every field and byte must match) and, where tshark is
 * installed, opened by tshark too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RawFrame } from '../../src/capture/frame.js';
import { evidenceTempPath, openEvidence, PCAP_MAGIC_NS, type EvidenceInterface } from '../../src/capture/pcap-writer.js';
import { CaptureError, UsageError } from '../../src/model/errors.js';
import { corpusBeforeAll, corpusCases, corpusDescribe, corpusIt, publicCorpus } from '../helpers/corpus.js';
import { epoch, readAll, TmpDir, type ReadResult } from './helpers.js';

const tmp = new TmpDir();
afterAll(() => tmp.cleanup());

const HAVE_TSHARK = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

let seq = 0;
function outPath(name: string): string {
  return join(tmp.dir, `${seq++}-${name}`);
}

/** Interfaces of a read file as the writer takes them. */
function interfacesOf(r: ReadResult): EvidenceInterface[] {
  return r.interfaces.map(([linkType, interfaceId]) => ({ linkType, interfaceId, name: `if${interfaceId}` }));
}

function writeAll(path: string, ifs: EvidenceInterface[], frames: readonly RawFrame[]): void {
  const w = openEvidence(path, ifs);
  for (const f of frames) w.write(f);
  expect(w.frames).toBe(frames.length);
  w.close();
}

/** Every field but the file offset, and the bytes. */
function fields(f: RawFrame, keepInterface: boolean): string {
  return `if${keepInterface ? f.interfaceId : 0} lt${f.linkType} ${f.tsSec}.${f.tsNsec} ${f.caplen}/${f.origLen} ${Buffer.from(f.data).toString('hex')}`;
}

/** tshark opens the file without complaint; returns its frame.time_epoch column (or undefined without tshark). */
function tsharkEpochs(path: string): string[] | undefined {
  if (!HAVE_TSHARK) return undefined;
  const r = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch'], {
    encoding: 'utf8',
  });
  expect(r.status, `tshark -r ${path}: ${r.stderr}`).toBe(0);
  const q = spawnSync('tshark', ['-r', path, '-q'], { encoding: 'utf8' });
  expect(q.status, `tshark -r ${path} -q: ${q.stderr}`).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

// Single-link-type files: both formats. Multi-interface pcapng: pcapng (and pcap, same link type).
const FILES = [
  'tcpdump_tcp_handshake_nano.pcap', // nanosecond pcap, Ethernet
  'zeek_linux_sll2.pcap', // LINUX_SLL2
  'sv_http_ipv6_null.pcap', // NULL
  'ndpi_http.pcapng', // pcapng, microsecond tsresol
  'zeek_pcapng_multi_interface.pcapng', // two Ethernet interfaces, nanosecond times
  'ndpi_1kxun.pcap', // 2.5 MB: many 256 KiB chunks
];

corpusDescribe('openEvidence: public captures round-trip', () => {
  for (const file of corpusCases(() => FILES)) {
    const src = readAll(publicCorpus(file));
    it(`${file}: ${src.frames.length} frames -> .pcap and .pcapng, read back identical`, () => {
      expect(src.summary.complete).toBe(true);
      expect(src.frames.length).toBeGreaterThan(0);
      const ifs = interfacesOf(src);

      const ng = outPath(`${file}.pcapng`);
      writeAll(ng, ifs, src.frames);
      const backNg = readAll(ng);
      expect(backNg.summary.format).toBe('pcapng');
      expect(backNg.summary.complete).toBe(true);
      expect(backNg.interfaces.map(([lt, id]) => [lt, id])).toEqual(ifs.map((i) => [i.linkType, i.interfaceId]));
      expect(backNg.frames.map((f) => fields(f, true))).toEqual(src.frames.map((f) => fields(f, true)));

      const pc = outPath(`${file}.pcap`);
      writeAll(pc, ifs, src.frames);
      const backPc = readAll(pc);
      expect(backPc.summary.format).toBe('pcap');
      expect(backPc.summary.complete).toBe(true);
      expect(backPc.frames.map((f) => fields(f, false))).toEqual(src.frames.map((f) => fields(f, false)));
      // Nanosecond magic, little-endian.
      expect(readFileSync(pc).readUInt32LE(0)).toBe(PCAP_MAGIC_NS);

      const want = src.frames.map(epoch);
      const ngEpochs = tsharkEpochs(ng);
      if (ngEpochs) expect(ngEpochs).toEqual(want);
      const pcEpochs = tsharkEpochs(pc);
      if (pcEpochs) expect(pcEpochs).toEqual(want);
    });
  }

  it('the classic pcap header and first record are laid out as libpcap writes them', () => {
    const src = readAll(publicCorpus('tcpdump_tcp_handshake_nano.pcap')); // LINUX_SLL, nanoseconds
    const pc = outPath('layout.pcap');
    writeAll(pc, interfacesOf(src), src.frames);
    const b = readFileSync(pc);
    const f = src.frames[0]!;
    expect([...b.subarray(0, 4)]).toEqual([0x4d, 0x3c, 0xb2, 0xa1]);
    expect(b.readUInt16LE(4)).toBe(2);
    expect(b.readUInt16LE(6)).toBe(4);
    expect(b.readUInt32LE(16)).toBe(262144);
    expect(b.readUInt32LE(20)).toBe(113);
    expect(f.tsNsec % 1000).not.toBe(0); // sub-microsecond digits survive
    expect(b.readUInt32LE(24)).toBe(f.tsSec);
    expect(b.readUInt32LE(28)).toBe(f.tsNsec);
    expect(b.readUInt32LE(32)).toBe(f.caplen);
    expect(b.readUInt32LE(36)).toBe(f.origLen);
    expect(b.length).toBe(24 + src.frames.reduce((n, fr) => n + 16 + fr.data.length, 0));
  });

  it('a timestamp with tsNsec >= 1e9 (damaged file) keeps its instant, carried into the seconds', () => {
    const src = readAll(publicCorpus('tcpdump_timestamp_invalid_micro.pcap'));
    // The reader hands the raw fields on: 999999 us, 1000000 us, 2^31 us.
    expect(src.frames.map((f) => [f.tsSec, f.tsNsec])).toEqual([
      [1418145369, 999999000],
      [1418145370, 1000000000],
      [1418145370, 2147483648000],
    ]);
    const ifs = interfacesOf(src);
    const normal = [
      [1418145369, 999999000],
      [1418145371, 0],
      [1418147517, 483648000],
    ];
    const pc = outPath('invalid.pcap');
    writeAll(pc, ifs, src.frames);
    expect(readAll(pc).frames.map((f) => [f.tsSec, f.tsNsec])).toEqual(normal);
    const ng = outPath('invalid.pcapng');
    writeAll(ng, ifs, src.frames);
    expect(readAll(ng).frames.map((f) => [f.tsSec, f.tsNsec])).toEqual(normal);
  });
});

describe('openEvidence: link types and interfaces', () => {
  let eth: RawFrame[]; // Ethernet
  let sll2: RawFrame[];
  corpusBeforeAll(() => {
    eth = readAll(publicCorpus('zeek_http_get.pcap')).frames;
    sll2 = readAll(publicCorpus('zeek_linux_sll2.pcap')).frames.map((f) => ({ ...f, interfaceId: 1 }));
  });
  const mixed: EvidenceInterface[] = [
    { linkType: 1, interfaceId: 0, name: 'eth0' },
    { linkType: 276, interfaceId: 1, name: 'any' },
  ];

  corpusIt('mixed link types go to one .pcapng with one IDB each (if_name, if_tsresol 9)', () => {
    const ng = outPath('mixed.pcapng');
    const frames = [...eth.slice(0, 2), ...sll2, ...eth.slice(2)];
    writeAll(ng, mixed, frames);
    const back = readAll(ng);
    expect(back.interfaces.map(([lt, id]) => [lt, id])).toEqual([
      [1, 0],
      [276, 1],
    ]);
    expect(back.frames.map((f) => fields(f, true))).toEqual(frames.map((f) => fields(f, true)));
    // The IDB options as bytes: if_name "eth0" (code 2, length 4) then if_tsresol 9 (code 9, length 1).
    const b = readFileSync(ng);
    const shbLen = b.readUInt32LE(4);
    expect(b.readUInt32LE(shbLen)).toBe(1); // IDB
    expect(b.readUInt16LE(shbLen + 8)).toBe(1); // link type
    expect([b.readUInt16LE(shbLen + 16), b.readUInt16LE(shbLen + 18)]).toEqual([2, 4]);
    expect(b.subarray(shbLen + 20, shbLen + 24).toString('latin1')).toBe('eth0');
    expect([b.readUInt16LE(shbLen + 24), b.readUInt16LE(shbLen + 26), b[shbLen + 28]]).toEqual([9, 1, 9]);
    if (HAVE_TSHARK) {
      const r = spawnSync('tshark', ['-r', ng, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.encap_type'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const rows = r.stdout.split('\n').filter((l) => l !== '');
      expect(rows).toEqual(frames.map((f) => (f.interfaceId === 0 ? 'eth0\t1' : 'any\t210')));
    }
  });

  it('mixed link types to a .pcap: UsageError asking for a .pcapng name, and no file left behind', () => {
    const pc = outPath('mixed.pcap');
    let err: unknown;
    try {
      openEvidence(pc, mixed);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message).toBe(
      `cannot write evidence to ${pc}: the interfaces have different link types (eth0 EN10MB, any LINUX_SLL2) and a pcap file holds one: give a .pcapng file name`,
    );
    expect(existsSync(pc)).toBe(false);
    expect(existsSync(evidenceTempPath(pc))).toBe(false);
  });

  corpusIt('.PCAPNG (upper case) is pcapng too', () => {
    const p = outPath('UPPER.PCAPNG');
    writeAll(p, mixed, [eth[0]!]);
    expect(readFileSync(p).readUInt32LE(0)).toBe(0x0a0d0d0a);
  });

  corpusIt('a frame whose link type is not its interface\'s is refused', () => {
    const w = openEvidence(outPath('wrong.pcap'), [{ linkType: 1, interfaceId: 0 }]);
    expect(() => w.write(sll2[0]!)).toThrow(/link type 276/);
    const w2 = openEvidence(outPath('wrong.pcapng'), mixed);
    expect(() => w2.write({ ...sll2[0]!, interfaceId: 0 })).toThrow(/link type 276/);
    expect(() => w2.write({ ...eth[0]!, interfaceId: 7 })).toThrow(/unknown interface 7/);
    expect(w.frames).toBe(0);
    w.close();
    w2.close();
  });
});

describe('openEvidence: temporary name and rename', () => {
  let src: ReadResult;
  corpusBeforeAll(() => {
    src = readAll(publicCorpus('tcpdump_tcp_handshake_nano.pcap'));
  });
  for (const ext of ['pcap', 'pcapng']) {
    corpusIt(`${ext}: written as .NAME.PID.tmp, renamed to NAME on close()`, () => {
      const path = outPath(`evidence.${ext}`);
      const temp = evidenceTempPath(path);
      const name = path.slice(path.lastIndexOf('/') + 1);
      expect(temp).toBe(join(tmp.dir, `.${name}.${process.pid}.tmp`));
      const w = openEvidence(path, interfacesOf(src));
      for (const f of src.frames) w.write(f);
      expect(existsSync(path)).toBe(false);
      expect(existsSync(temp)).toBe(true);
      w.close();
      expect(existsSync(temp)).toBe(false);
      expect(existsSync(path)).toBe(true);
      expect(readdirSync(tmp.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      expect(readAll(path).frames.length).toBe(src.frames.length);
      w.close(); // idempotent
      expect(() => w.write(src.frames[0]!)).toThrow(/closed/);
    });
  }

  it('no frame at all still gives a valid, empty capture', () => {
    const pc = outPath('empty.pcap');
    writeAll(pc, [{ linkType: 1, interfaceId: 0 }], []);
    expect(readFileSync(pc).length).toBe(24);
    const back = readAll(pc);
    expect(back.summary.complete).toBe(true);
    expect(back.frames).toEqual([]);
    const ng = outPath('empty.pcapng');
    writeAll(ng, [{ linkType: 1, interfaceId: 0 }], []);
    expect(readAll(ng).interfaces.map(([lt]) => lt)).toEqual([1]);
    if (HAVE_TSHARK) expect(tsharkEpochs(pc)).toEqual([]);
  });

  it('a folder that does not exist: CaptureError capture-io naming the file', () => {
    const p = join(tmp.dir, 'no-such-dir', 'e.pcap');
    let err: unknown;
    try {
      openEvidence(p, [{ linkType: 1, interfaceId: 0 }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe('capture-io');
    expect((err as CaptureError).message).toContain(p);
    expect((err as CaptureError).message).toContain('ENOENT');
  });

  it('no interface: UsageError', () => {
    expect(() => openEvidence(outPath('none.pcap'), [])).toThrow(UsageError);
  });
});
