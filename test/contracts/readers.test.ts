/**
 * Both file readers (src/capture/pcap.ts and pcapng.ts, through readCaptureFile) hand over the same
 * frames for the same records: the bytes, caplen, origLen, timestamp and link type. The frames are
 * made once and written as classic pcap (nanosecond and microsecond, both byte orders) and as pcapng
 * (three interfaces of two link types, microsecond and nanosecond if_tsresol, both byte orders, and
 * the product's own evidence writer), then every file is read back, whole and in small chunks.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile, type ReadSummary } from '../../src/capture/file.js';
import type { RawFrame } from '../../src/capture/frame.js';
import { openEvidence } from '../../src/capture/pcap-writer.js';
import { TmpDir } from '../capture/helpers.js';
import { eth, ipv4, ipv6, tcp, udp } from '../helpers/frames.js';
import { pcapBytes, type PcapOptions } from '../helpers/pcap.js';
import { optIfName, optTsresol, PcapngBuilder } from '../helpers/pcapng.js';
import { Rng } from '../helpers/random.mjs';

const tmp = new TmpDir();
afterAll(() => tmp.cleanup());

interface Iface {
  linkType: number;
  name: string;
  /** if_tsresol exponent (10^-n seconds): 6 leaves the option out (the pcapng default). */
  tsresol: 6 | 9;
}

/** Interface 0 and 2 Ethernet, interface 1 raw IPv4/IPv6 (LINKTYPE_RAW). */
const IFACES: Iface[] = [
  { linkType: 1, name: 'eth0', tsresol: 6 },
  { linkType: 101, name: 'tun0', tsresol: 9 },
  { linkType: 1, name: 'eth1', tsresol: 9 },
];

/** What a reader must hand over for one record. */
interface Frame {
  interfaceId: number;
  linkType: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origLen: number;
  data: Uint8Array;
}

/**
 * 60 frames, in time order, spread over the interfaces: TCP and UDP over IPv4 and IPv6, payloads of
 * 0 to 1500 bytes (odd lengths exercise pcapng's padding), a jumbo frame, frames cut short
 * by a snaplen (origLen above caplen), an empty record; nanoseconds only where the interface keeps them.
 */
function makeFrames(): Frame[] {
  const r = new Rng(0x5eade7);
  const out: Frame[] = [];
  let sec = 1_700_000_000;
  for (let i = 0; i < 60; i++) {
    const interfaceId = i % 3;
    const iface = IFACES[interfaceId]!;
    sec += r.int(0, 2);
    const nsec = iface.tsresol === 9 ? r.int(0, 999_999_999) : r.int(0, 999_999) * 1000;
    const payload = r.bytes(i === 7 ? 9000 : r.int(0, 1500));
    const proto = r.pick([6, 17]);
    const l4 = proto === 6 ? tcp({ sport: r.int(1024, 65535), dport: 443, seq: r.u32(), flags: 0x18 }, payload) : udp({ sport: r.int(1024, 65535), dport: 53 }, payload);
    const v6 = r.chance(0.5);
    const ip = v6 ? ipv6({ nh: proto }, l4) : ipv4({ proto, id: i }, l4);
    let data = iface.linkType === 1 ? eth(v6 ? 0x86dd : 0x0800, ip) : ip;
    let origLen = data.length;
    if (i % 11 === 5) data = data.subarray(0, 96); // cut by a snaplen of 96
    if (i === 30) {
      data = new Uint8Array(0);
      origLen = 60;
    }
    out.push({ interfaceId, linkType: iface.linkType, tsSec: sec, tsNsec: nsec, caplen: data.length, origLen, data });
  }
  return out;
}

const FRAMES = makeFrames();

function raw(f: Frame): RawFrame {
  return { ...f, offset: 0 };
}

// ---------------------------------------------------------------------------------------------
// The files

function pcapngOf(frames: readonly Frame[], le: boolean): Uint8Array {
  const w = new PcapngBuilder().shb(le);
  for (const i of IFACES) w.idb(i.linkType, 0, [optIfName(i.name), ...(i.tsresol === 9 ? [optTsresol(9)] : [])]);
  for (const f of frames) {
    const unit = IFACES[f.interfaceId]!.tsresol === 9 ? 1n : 1000n;
    w.epb(f.interfaceId, (BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec)) / unit, f.data, f.origLen);
  }
  return w.bytes();
}

function evidencePcapng(frames: readonly Frame[]): string {
  const path = join(tmp.dir, 'evidence.pcapng');
  const w = openEvidence(
    path,
    IFACES.map((i, n) => ({ linkType: i.linkType, interfaceId: n, name: i.name })),
  );
  for (const f of frames) w.write(raw(f));
  w.close();
  return path;
}

function pcapOf(frames: readonly Frame[], opts: PcapOptions): Uint8Array {
  return pcapBytes(
    frames.map((f) => ({ sec: f.tsSec, nsec: f.tsNsec, data: f.data, origLen: f.origLen })),
    opts,
  );
}

interface Case {
  file: string;
  format: 'pcap' | 'pcapng';
  /** The frames written into it. */
  frames: Frame[];
}

const ethernet = FRAMES.filter((f) => f.linkType === 1);
const rawIp = FRAMES.filter((f) => f.linkType === 101);
const microseconds = FRAMES.filter((f) => IFACES[f.interfaceId]!.tsresol === 6);

const CASES: Case[] = [
  { file: tmp.write('le.pcapng', pcapngOf(FRAMES, true)), format: 'pcapng', frames: FRAMES },
  { file: tmp.write('be.pcapng', pcapngOf(FRAMES, false)), format: 'pcapng', frames: FRAMES },
  { file: evidencePcapng(FRAMES), format: 'pcapng', frames: FRAMES },
  { file: tmp.write('ethernet-ns.pcap', pcapOf(ethernet, { linkType: 1 })), format: 'pcap', frames: ethernet },
  { file: tmp.write('ethernet-ns-be.pcap', pcapOf(ethernet, { linkType: 1, bigEndian: true })), format: 'pcap', frames: ethernet },
  { file: tmp.write('ethernet-us.pcap', pcapOf(microseconds, { linkType: 1, precision: 'us' })), format: 'pcap', frames: microseconds },
  { file: tmp.write('ethernet-us-be.pcap', pcapOf(microseconds, { linkType: 1, precision: 'us', bigEndian: true })), format: 'pcap', frames: microseconds },
  { file: tmp.write('raw-ns.pcap', pcapOf(rawIp, { linkType: 101 })), format: 'pcap', frames: rawIp },
];

// ---------------------------------------------------------------------------------------------

/** Every field a reader hands over but the file offset, and the bytes in hex. */
function fields(f: Frame | RawFrame, interfaceId: number): string {
  return `if${interfaceId} lt${f.linkType} ${f.tsSec}.${String(f.tsNsec).padStart(9, '0')} ${f.caplen}/${f.origLen} ${Buffer.from(f.data).toString('hex')}`;
}

function read(file: string, chunkSize?: number): { frames: RawFrame[]; summary: ReadSummary } {
  const frames: RawFrame[] = [];
  const summary = readCaptureFile(file, (f) => frames.push({ ...f, data: f.data.slice() }), chunkSize === undefined ? {} : { chunkSize });
  return { frames, summary };
}

describe('pcap and pcapng readers hand over the same frames', () => {
  it('the frames cover both link types, both precisions, snapped and empty records', () => {
    expect(ethernet.length).toBeGreaterThan(30);
    expect(rawIp.length).toBeGreaterThan(15);
    expect(microseconds.length).toBeGreaterThan(15);
    expect(FRAMES.some((f) => f.caplen < f.origLen && f.caplen > 0)).toBe(true);
    expect(FRAMES.some((f) => f.caplen === 0)).toBe(true);
    expect(FRAMES.some((f) => f.tsNsec % 1000 !== 0)).toBe(true);
    expect(Math.max(...FRAMES.map((f) => f.caplen))).toBeGreaterThan(9000);
  });

  it.each(CASES.map((c) => [c.file.replace(/^.*\//, ''), c] as const))('%s', (_name, c) => {
    const whole = read(c.file);
    expect(whole.summary.format).toBe(c.format);
    expect(whole.summary.complete).toBe(true);
    // A classic pcap has one interface: every frame is interface 0 there.
    const want = c.frames.map((f) => fields(f, c.format === 'pcap' ? 0 : f.interfaceId));
    expect(whole.frames.map((f) => fields(f, f.interfaceId))).toEqual(want);
    expect(read(c.file, 13).frames.map((f) => fields(f, f.interfaceId))).toEqual(want);
  });

  it('the Ethernet frames of the pcapng files are those of the classic pcap files, interface aside', () => {
    const fromPcap = read(CASES[3]!.file).frames.map((f) => fields(f, 0));
    for (const c of CASES.filter((x) => x.format === 'pcapng')) {
      const fromPcapng = read(c.file)
        .frames.filter((f) => f.linkType === 1)
        .map((f) => fields(f, 0));
      expect(fromPcapng).toEqual(fromPcap);
    }
  });
});
