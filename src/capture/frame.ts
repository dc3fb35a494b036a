/**
 * One captured record as read from a file or a live interface, before any decoding.
 * The frame object and `data` (a view into the reader's buffer) are only valid during the callback
 * that receives them: readers refill one object per record. Anything kept must be copied (bounded).
 */
export interface RawFrame {
  /** Seconds since the epoch (integer part). */
  tsSec: number;
  /** Fraction of the second in nanoseconds (0..999_999_999 for sane files; damaged files may exceed it). */
  tsNsec: number;
  /** LINKTYPE_* value of the interface the frame came from. */
  linkType: number;
  /** Bytes captured (= data.length). */
  caplen: number;
  /** Length of the frame on the wire. */
  origLen: number;
  data: Uint8Array;
  /**
   * Optional, for readers that refill one frame object per record: the buffer holding the record,
   * whose bytes are chunk[chunkOffset, chunkOffset + caplen) (the same bytes as `data`, which such
   * a reader makes only when asked). The decoder reads there and spares a view per frame. A copy
   * made with `{ ...frame, data: frame.data.slice() }` does not carry it (see ChunkFrame).
   */
  chunk?: Uint8Array | undefined;
  chunkOffset?: number;
  /** pcapng interface index (0 for classic pcap and live capture). */
  interfaceId: number;
  /** Byte offset of the record (pcap record header / pcapng block) in its file. */
  offset: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The one frame object a file reader refills per record: the record stays where it is in the read
 * buffer (chunk, chunkOffset) and `data` is made only for whoever asks (the decoder does not).
 */
export class ChunkFrame implements RawFrame {
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  caplen = 0;
  origLen = 0;
  interfaceId = 0;
  offset = 0;
  declare chunk: Uint8Array;
  declare chunkOffset: number;

  constructor() {
    // Not enumerable: a copy made with `{ ...frame, data: frame.data.slice() }` (as consumers that
    // keep frames do) must not carry the reader's buffer along.
    Object.defineProperty(this, 'chunk', { value: EMPTY, writable: true, enumerable: false });
    Object.defineProperty(this, 'chunkOffset', { value: 0, writable: true, enumerable: false });
  }

  get data(): Uint8Array {
    return this.chunk.subarray(this.chunkOffset, this.chunkOffset + this.caplen);
  }
}

/** Timestamp of a frame in seconds (float; microsecond precision is kept for present-day dates). */
export function frameTime(frame: RawFrame): number {
  return frame.tsSec + frame.tsNsec / 1e9;
}
