/**
 * In-order reassembly of the FIRST bytes of one TCP direction, for the classifier: a ClientHello may
 * span several segments and segments may arrive out of order or be retransmitted. Bounded: at most
 * `cap` bytes are kept, and at most MAX_PENDING out-of-order segments wait for the gap to fill. A
 * segment waits only within what `cap` leaves beside the contiguous bytes, so the waiting bytes
 * never exceed `cap` either (otherwise each of the 16 waiting segments could hold up to `cap`
 * bytes, 17 x cap per direction). The buffer is allocated on the first byte, not per flow: a SYN
 * scan's flows never carry payload and would otherwise cost 2 x 2 KiB each.
 */
const MAX_PENDING = 16;
const EMPTY = new Uint8Array(0);

interface PendingSegment {
  offset: number;
  bytes: Uint8Array;
}

/** The empty list every prefix starts with (most never see a segment out of order). */
const NO_PENDING: PendingSegment[] = [];

/**
 * Released buffers, by size (2 KiB doublings up to the cap), for the next flows: a prefix buffer is
 * memory outside the JavaScript heap, and allocating one per flow (then freeing it once the flow is
 * classified) made the collector run often under external-memory pressure. A reused buffer may hold
 * an earlier flow's bytes past `length`; nothing reads there (bytes are appended contiguously).
 */
const POOL_MIN = 2048;
const POOL_PER_SIZE = 64;
const pool = new Map<number, Uint8Array[]>();

function takeBuffer(size: number): Uint8Array {
  return pool.get(size)?.pop() ?? new Uint8Array(size);
}

function giveBuffer(buf: Uint8Array): void {
  if (buf.length < POOL_MIN) return;
  let free = pool.get(buf.length);
  if (!free) pool.set(buf.length, (free = []));
  if (free.length < POOL_PER_SIZE) free.push(buf);
}

export class StreamPrefix {
  /** Sequence number of the first byte of the stream (ISN + 1), once known. */
  private base: number | undefined;
  private buf: Uint8Array;
  /** Contiguous bytes from `base`. */
  length = 0;
  /** Out-of-order segments; NO_PENDING (shared, never written) until the first one. */
  private pending: PendingSegment[] = NO_PENDING;
  /** Bytes held by `pending`: <= cap - length when a segment is added, so <= cap. */
  private pendingHeld = 0;

  constructor(private readonly cap: number) {
    // Allocated on the first byte (see append): most flows of a scan never carry any.
    this.buf = EMPTY;
  }

  /** Bytes held in out-of-order segments waiting for a gap to fill (never more than cap). */
  get pendingBytes(): number {
    return this.pendingHeld;
  }

  /** Out-of-order segments waiting (at most 16). */
  get pendingSegments(): number {
    return this.pending.length;
  }

  /** Size of the contiguous buffer allocated (<= cap). */
  get capacity(): number {
    return this.buf.length;
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
      // Keep the head of the segment (nearest the gap), within what the cap leaves.
      const room = Math.min(this.cap - offset, this.cap - this.length - this.pendingHeld);
      if (this.pending.length < MAX_PENDING && room > 0) {
        const bytes = payload.slice(0, room);
        if (this.pending === NO_PENDING) this.pending = [];
        this.pending.push({ offset, bytes });
        this.pendingHeld += bytes.length;
      }
      return false;
    }
    const before = this.length;
    this.append(offset, payload);
    // Fill from pending segments that now touch the prefix.
    let progressed = true;
    while (progressed && this.pending.length > 0) {
      progressed = false;
      for (let i = 0; i < this.pending.length; i++) {
        const seg = this.pending[i] as PendingSegment;
        if (seg.offset <= this.length) {
          this.append(seg.offset, seg.bytes);
          this.pending.splice(i, 1);
          this.pendingHeld -= seg.bytes.length;
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
      let size = Math.max(this.buf.length, POOL_MIN);
      while (size < end) size *= 2;
      const grown = takeBuffer(Math.min(size, this.cap));
      grown.set(this.buf.subarray(0, this.length));
      giveBuffer(this.buf);
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
    giveBuffer(this.buf);
    this.buf = EMPTY;
    this.pending = NO_PENDING;
    this.pendingHeld = 0;
  }
}
