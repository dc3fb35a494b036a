/**
 * Incremental parser for classic libpcap files (draft-ietf-opsawg-pcap): magic a1b2c3d4 (µs) and
 * a1b23c4d (ns), either byte order. Pure: no I/O, see parser.ts for the contract.
 *
 * Rules:
 * - the link type is the low 16 bits of the header's LinkType field (the upper bits carry FCS info);
 * - a record claiming caplen > 256 KiB is corrupt: parsing stops with 'capture-corrupt' at the record
 *   header's offset, without ever buffering the claimed length;
 * - caplen > snaplen (or snaplen 0) is tolerated when caplen <= 256 KiB, as real files do that;
 * - the fraction field is kept as is even when >= 1 s (µs files: tsNsec = frac * 1000);
 * - a file ending inside a record reports 'capture-truncated' with how many bytes were present.
 */
import { CaptureError } from '../model/errors.js';
import { ChunkFrame } from './frame.js';
import { MAX_PCAP_CAPLEN, type CaptureParser, type FrameSink, type InterfaceSink } from './parser.js';

export const PCAP_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;

export interface PcapHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  /** LINKTYPE_* (low 16 bits of the field). */
  linkType: number;
  /** The whole LinkType field, FCS bits included. */
  linkTypeField: number;
}

/**
 * Reads the 4 magic bytes at `buf[at]`. Returns byte order and precision, or undefined when they
 * are not a classic pcap magic.
 */
export function pcapMagic(buf: Uint8Array, at = 0): { littleEndian: boolean; nanosecond: boolean } | undefined {
  if (buf.length < at + 4) return undefined;
  const b0 = buf[at]!;
  const b1 = buf[at + 1]!;
  const b2 = buf[at + 2]!;
  const b3 = buf[at + 3]!;
  if (b0 === 0xa1 && b1 === 0xb2) {
    if (b2 === 0xc3 && b3 === 0xd4) return { littleEndian: false, nanosecond: false };
    if (b2 === 0x3c && b3 === 0x4d) return { littleEndian: false, nanosecond: true };
  } else if (b2 === 0xb2 && b3 === 0xa1) {
    if (b0 === 0xd4 && b1 === 0xc3) return { littleEndian: true, nanosecond: false };
    if (b0 === 0x4d && b1 === 0x3c) return { littleEndian: true, nanosecond: true };
  }
  return undefined;
}

export class PcapParser implements CaptureParser {
  need = PCAP_HEADER_LENGTH;
  done = false;
  stopped: CaptureError | undefined = undefined;
  readonly problems: CaptureError[] = [];
  readonly notes: string[] = [];
  /** Always 0: this parser stops at the first problem. */
  readonly notesDropped = 0;
  frames = 0;
  header: PcapHeader | undefined = undefined;

  private le = true;
  private nsMul = 1000;
  private readonly frame = new ChunkFrame();
  /**
   * libpcap before 2.3 wrote caplen and len the other way round: 2.0-2.2 files always have them
   * swapped, 2.3 files may (when caplen > len). libpcap and Wireshark swap them back; so do we.
   */
  private lengths: 'normal' | 'swapped' | 'maybe' = 'normal';
  private linkType = 0;

  constructor(
    private readonly file: string,
    private readonly onFrame: FrameSink,
    private readonly onInterface?: InterfaceSink,
  ) {}

  push(buf: Uint8Array, view: DataView, start: number, end: number, fileOffset: number, eof: boolean): number {
    if (this.done) return end - start;
    let pos = start;
    if (this.header === undefined) {
      if (end - pos < PCAP_HEADER_LENGTH) {
        if (eof) {
          this.done = true;
          throw new CaptureError(
            'capture-format',
            this.file,
            0,
            `file too short for a pcap header: ${end - pos} of ${PCAP_HEADER_LENGTH} bytes`,
          );
        }
        this.need = PCAP_HEADER_LENGTH;
        return 0;
      }
      this.parseHeader(buf, view, pos);
      pos += PCAP_HEADER_LENGTH;
      // The header is consumed before the callback runs so that a throwing onInterface leaves a
      // consistent parser behind (the throw propagates to the caller anyway).
      this.onInterface?.(this.linkType, 0, 0);
    }

    const le = this.le;
    const nsMul = this.nsMul;
    const linkType = this.linkType;
    const onFrame = this.onFrame;
    const base = fileOffset - start;
    let frames = this.frames;
    try {
      for (;;) {
        const avail = end - pos;
        if (avail < PCAP_RECORD_HEADER_LENGTH) {
          this.need = PCAP_RECORD_HEADER_LENGTH;
          break;
        }
        let caplen = view.getUint32(pos + 8, le);
        let origLen = view.getUint32(pos + 12, le);
        if (this.lengths !== 'normal' && (this.lengths === 'swapped' || caplen > origLen)) {
          const t = caplen;
          caplen = origLen;
          origLen = t;
        }
        if (caplen > MAX_PCAP_CAPLEN) {
          this.stop(
            new CaptureError(
              'capture-corrupt',
              this.file,
              base + pos,
              `corrupt pcap record header: caplen ${caplen} is larger than the ${MAX_PCAP_CAPLEN}-byte maximum`,
            ),
          );
          return end - start;
        }
        const total = PCAP_RECORD_HEADER_LENGTH + caplen;
        if (avail < total) {
          this.need = total;
          break;
        }
        const dataAt = pos + PCAP_RECORD_HEADER_LENGTH;
        // One frame object for the whole file, refilled per record: RawFrame is only valid during the
        // callback (consumers copy what they keep), and this spares the collector an object per packet.
        const frame = this.frame;
        frame.tsSec = view.getUint32(pos, le);
        frame.tsNsec = view.getUint32(pos + 4, le) * nsMul;
        frame.linkType = linkType;
        frame.caplen = caplen;
        frame.origLen = origLen;
        frame.chunk = buf;
        frame.chunkOffset = dataAt;
        frame.offset = base + pos;
        pos += total;
        frames++;
        onFrame(frame);
      }
    } finally {
      this.frames = frames;
    }

    if (eof) {
      const left = end - pos;
      if (left > 0) {
        const expected = left < PCAP_RECORD_HEADER_LENGTH ? PCAP_RECORD_HEADER_LENGTH : this.need;
        this.stop(
          new CaptureError(
            'capture-truncated',
            this.file,
            base + pos,
            `file ends in the middle of a record at byte ${base + pos}: ${left} of ${expected} bytes present`,
          ),
        );
        return end - start;
      }
      this.done = true;
    }
    return pos - start;
  }

  private parseHeader(buf: Uint8Array, view: DataView, at: number): void {
    const magic = pcapMagic(buf, at);
    if (magic === undefined) {
      this.done = true;
      throw new CaptureError('capture-format', this.file, 0, `not a pcap file (magic 0x${hex4(buf, at)})`);
    }
    const le = magic.littleEndian;
    const versionMajor = view.getUint16(at + 4, le);
    const versionMinor = view.getUint16(at + 6, le);
    if (versionMajor !== 2) {
      this.done = true;
      throw new CaptureError(
        'capture-format',
        this.file,
        4,
        `unsupported pcap version ${versionMajor}.${versionMinor} (only 2.x is defined)`,
      );
    }
    const linkTypeField = view.getUint32(at + 20, le);
    this.lengths = versionMinor < 3 ? 'swapped' : versionMinor === 3 ? 'maybe' : 'normal';
    this.header = {
      littleEndian: le,
      nanosecond: magic.nanosecond,
      versionMajor,
      versionMinor,
      snaplen: view.getUint32(at + 16, le),
      linkType: linkTypeField & 0xffff,
      linkTypeField,
    };
    this.le = le;
    this.nsMul = magic.nanosecond ? 1 : 1000;
    this.linkType = linkTypeField & 0xffff;
  }

  private stop(err: CaptureError): void {
    this.stopped = err;
    this.done = true;
    this.need = 0;
  }
}

export function hex4(buf: Uint8Array, at: number): string {
  let s = '';
  for (let i = at; i < at + 4 && i < buf.length; i++) s += buf[i]!.toString(16).padStart(2, '0');
  return s;
}
