/**
 * In-order reassembly of the FIRST bytes of one TCP direction, for the classifier: a ClientHello may
 * span several segments and segments may arrive out of order or be retransmitted. Bounded: at most
 * `cap` bytes are kept, and at most MAX_PENDING out-of-order segments wait for the gap to fill.
 */
const MAX_PENDING = 16;

export class StreamPrefix {
  /** Sequence number of the first byte of the stream (ISN + 1), once known. */
  private base: number | undefined;
  private buf: Uint8Array;
  /** Contiguous bytes from `base`. */
  length = 0;
  private pending: { offset: number; bytes: Uint8Array }[] = [];

  constructor(private readonly cap: number) {
    this.buf = new Uint8Array(Math.min(cap, 2048));
  }

  /** The SYN's sequence number fixes where the stream starts. */
  setIsn(isn: number): void {
    if (this.base === undefined) this.base = (isn + 1) >>> 0;
  }

  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** No more bytes are wanted: the cap is reached or the buffer was released. */
  get full(): boolean {
    return this.released || this.length >= this.cap;
  }

  private released = false;

  /** Adds a segment; returns true when the contiguous prefix grew. */
  add(seq: number, payload: Uint8Array): boolean {
    if (payload.length === 0 || this.full) return false;
    // Without a SYN, the first data segment seen is the start (mid-stream pickup).
    if (this.base === undefined) this.base = seq >>> 0;
    const offset = (seq - this.base) >>> 0;
    // Offsets past the cap (or "negative" ones, which wrap to huge values) are ignored.
    if (offset >= this.cap) return false;
    if (offset > this.length) {
      if (this.pending.length < MAX_PENDING) this.pending.push({ offset, bytes: payload.slice(0, this.cap - offset) });
      return false;
    }
    const before = this.length;
    this.append(offset, payload);
    // Fill from pending segments that now touch the prefix.
    let progressed = true;
    while (progressed && this.pending.length > 0) {
      progressed = false;
      for (let i = 0; i < this.pending.length; i++) {
        const seg = this.pending[i] as { offset: number; bytes: Uint8Array };
        if (seg.offset <= this.length) {
          this.append(seg.offset, seg.bytes);
          this.pending.splice(i, 1);
          progressed = true;
          break;
        }
      }
    }
    return this.length > before;
  }

  private append(offset: number, payload: Uint8Array): void {
    const end = Math.min(offset + payload.length, this.cap);
    if (end <= this.length) return;
    if (end > this.buf.length) {
      let size = this.buf.length;
      while (size < end) size *= 2;
      const grown = new Uint8Array(Math.min(size, this.cap));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    // Keep the bytes already there (first data wins), copy only the new tail.
    const skip = this.length - offset;
    this.buf.set(payload.subarray(skip, end - offset), this.length);
    this.length = end;
  }

  release(): void {
    this.released = true;
    this.length = 0;
    this.buf = new Uint8Array(0);
    this.pending = [];
  }
}
