/**
 * The contract between the file reader (file.ts) and the format parsers (pcap.ts, pcapng.ts).
 *
 * A parser is pure and incremental: it never does I/O. The reader hands it a window of bytes
 * `buf[start, end)` whose first byte sits at file offset `fileOffset`; the parser consumes whole
 * records/blocks from the front, delivers frames synchronously, and returns how many bytes it
 * consumed. Whatever it leaves is handed back (with more bytes after it) on the next call.
 * `need` then tells the reader how many bytes, counted from the first unconsumed one, the parser
 * needs contiguous in the buffer before it can make progress (the reader grows its buffer to that,
 * which parsers keep bounded: 256 KiB + 16 for pcap records, 16 MiB for pcapng blocks).
 */
import type { CaptureError } from '../model/errors.js';
import type { RawFrame } from './frame.js';

export type FrameSink = (frame: RawFrame) => void;
export type InterfaceSink = (linkType: number, interfaceId: number, offset: number) => void;

export interface CaptureParser {
  /**
   * Parse from `buf[start, end)`; `view` is a DataView over the whole of `buf` (same bytes, same
   * indices). `eof` says no byte will ever follow `end`: the parser then settles whatever is left
   * (truncation, resynchronisation) and becomes `done`.
   * Throws CaptureError('capture-format') when the file header is bad; errors thrown by the
   * callbacks propagate unchanged.
   * @returns the number of bytes consumed from `start`.
   */
  push(buf: Uint8Array, view: DataView, start: number, end: number, fileOffset: number, eof: boolean): number;
  /** Contiguous bytes needed from the first unconsumed byte to make progress (meaningful while not done). */
  readonly need: number;
  /** True once the parser stopped (fatal damage or end of file handled): further bytes are ignored. */
  readonly done: boolean;
  /** Why parsing stopped early, if it did. */
  readonly stopped: CaptureError | undefined;
  /** Damage that was skipped over (pcapng resynchronisation, skipped blocks), in file order. */
  readonly problems: readonly CaptureError[];
  /** Human-readable notes about damage and recovery, in file order (the reader shows the first 20). */
  readonly notes: readonly string[];
  /** Notes not kept (parsers keep a bounded number of notes and problems: a crafted file can make millions). */
  readonly notesDropped: number;
  /** Frames delivered so far. */
  readonly frames: number;
}

/** Largest caplen a classic pcap record may claim (libpcap's and Wireshark's limit for ordinary link types). */
export const MAX_PCAP_CAPLEN = 262_144;
/** Largest pcapng block we accept. */
export const MAX_PCAPNG_BLOCK = 16 * 1024 * 1024;
/** How far past a corrupt pcapng block we look for the next plausible one. */
export const PCAPNG_RESYNC_WINDOW = 1024 * 1024;
