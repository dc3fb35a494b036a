/**
 * IPv4 / IPv6 fragment reassembly with a hard memory bound.
 *
 * Datagrams are keyed by the caller (IPv4: src, dst, id, protocol; IPv6: src, dst, id: RFC 8200
 * keys on those three and takes the next header from the offset-0 fragment). Each stored piece is
 * a copy of the fragment bytes (the frame is only valid during the decode call): this is the one
 * place the decoder copies packet bytes.
 *
 * Overlaps: "first" policy. Bytes already buffered are never overwritten; a later fragment only
 * fills the holes it covers (like Windows and Snort/Suricata's "first" target policy; Linux and
 * the BSDs instead favour later data in some cases). Every fragment that overlaps buffered data is
 * counted in stats.overlaps (exact retransmissions included).
 *
 * Datagram end: set by the first fragment with M=0. Data past that end, or a second M=0 fragment
 * that disagrees, is clipped and counted in stats.inconsistent.
 *
 * Bounds: at most maxDatagrams datagrams and maxBytes buffered bytes. bufferedBytes counts the
 * stored fragment bytes plus PIECE_OVERHEAD per stored piece (so floods of tiny fragments are
 * bounded too). When a bound would be exceeded the oldest datagrams (by creation) are evicted
 * (stats.evicted). A fragment that cannot fit even after evicting everything else is dropped
 * (stats.droppedOverCap) together with the rest of its datagram, which can no longer complete.
 *
 * Timeout: a datagram is discarded timeoutSec after its first fragment (stats.timedOut). Time comes
 * from packet timestamps, never from the clock. Expiry looks at the oldest datagrams first and stops
 * at the first one that is not due, so it is O(1) per call when nothing expires.
 */

export interface FragmentOptions {
  /** Upper bound on buffered fragment bytes (plus per-piece overhead). Default 8 MiB. */
  maxBytes: number;
  /** Upper bound on datagrams being reassembled. Default 4096. */
  maxDatagrams: number;
  /** Seconds (packet time) after the first fragment before a datagram is discarded. Default 30. */
  timeoutSec: number;
  /**
   * Upper bound on stored pieces per datagram. Default 4096: a 65535-byte datagram cut at the
   * smallest IPv4 MTU (68, 48 data bytes per fragment) has 1366 pieces, while 1-byte fragments
   * could make 65535 of them, and each fragment's insertion costs more the more pieces there are.
   * A datagram that would need more is discarded and the fragment dropped (stats.droppedOverCap,
   * stats.evicted).
   */
  maxPieces: number;
}

export const DEFAULT_FRAGMENT_OPTIONS: Readonly<FragmentOptions> = Object.freeze({
  maxBytes: 8 * 1024 * 1024,
  maxDatagrams: 4096,
  timeoutSec: 30,
  maxPieces: 4096,
});

export interface FragmentStats {
  /** Fragments handed to the reassembler (atomic IPv6 fragments are not fragments). */
  fragments: number;
  /** Datagrams completed. */
  reassembled: number;
  /** Incomplete datagrams discarded to respect maxBytes / maxDatagrams. */
  evicted: number;
  /** Incomplete datagrams discarded after timeoutSec. */
  timedOut: number;
  /** Fragments that overlapped bytes already buffered (the older bytes were kept). */
  overlaps: number;
  /** Fragments dropped because their datagram could not fit under maxBytes. */
  droppedOverCap: number;
  /** Fragments whose end disagreed with the datagram end set by the first M=0 fragment. */
  inconsistent: number;
}

/** One fragment as FragmentReassembler.add takes it. */
export interface Fragment {
  /** Datagram key (see the file comment). */
  key: string;
  /** Packet time in seconds. */
  ts: number;
  /** Fragment offset in bytes. */
  offset: number;
  /** The captured fragment bytes (a view: copied if kept). */
  captured: Uint8Array;
  /** Fragment length on the wire (>= captured.length). */
  wireLen: number;
  /** More-fragments flag. */
  more: boolean;
  /** Header length to report for the datagram (taken from the offset-0 fragment). */
  headerLen: number;
  /** Upper-layer protocol (taken from the offset-0 fragment). */
  nextHeader: number;
}

/** Accounting charge per stored piece on top of its bytes. */
export const PIECE_OVERHEAD = 64;

export type FragmentResult =
  | { kind: 'stored' }
  | {
      kind: 'complete';
      /** The reassembled fragmentable part (IPv4: the IP payload), a fresh buffer. */
      data: Uint8Array;
      /** Leading bytes of `data` that were captured; less than data.length when a fragment was cut by the snaplen. */
      capturedLen: number;
      /** Header length / next header recorded from the offset-0 fragment. */
      headerLen: number;
      nextHeader: number;
    }
  | { kind: 'dropped'; reason: string };

const STORED: FragmentResult = Object.freeze({ kind: 'stored' });
const DROPPED_OVER_CAP: FragmentResult = Object.freeze({
  kind: 'dropped',
  reason: 'ip fragment dropped: reassembly memory cap',
});

interface Piece {
  off: number;
  /** Wire end of the piece. */
  end: number;
  /** Captured bytes of the piece: length <= end - off (shorter when the snaplen cut the fragment). */
  data: Uint8Array;
}

interface Datagram {
  key: string;
  firstTs: number;
  /** Datagram (fragmentable part) length once the M=0 fragment arrived, else -1. */
  total: number;
  /** Sorted by offset, non-overlapping. */
  pieces: Piece[];
  /** Wire bytes covered by pieces. */
  covered: number;
  /** Bytes charged against maxBytes. */
  bytes: number;
  headerLen: number;
  nextHeader: number;
}

export class FragmentReassembler {
  readonly options: Readonly<FragmentOptions>;
  readonly stats: FragmentStats = {
    fragments: 0,
    reassembled: 0,
    evicted: 0,
    timedOut: 0,
    overlaps: 0,
    droppedOverCap: 0,
    inconsistent: 0,
  };
  /** Insertion order = creation order = eviction order. */
  private readonly datagrams = new Map<string, Datagram>();
  private bytes = 0;

  constructor(opts?: Partial<FragmentOptions>) {
    const o = { ...DEFAULT_FRAGMENT_OPTIONS };
    if (opts?.maxBytes !== undefined && opts.maxBytes >= 0) o.maxBytes = opts.maxBytes;
    if (opts?.maxDatagrams !== undefined && opts.maxDatagrams >= 1) o.maxDatagrams = Math.floor(opts.maxDatagrams);
    if (opts?.timeoutSec !== undefined && opts.timeoutSec >= 0) o.timeoutSec = opts.timeoutSec;
    if (opts?.maxPieces !== undefined && opts.maxPieces >= 1) o.maxPieces = Math.floor(opts.maxPieces);
    this.options = Object.freeze(o);
  }

  /** Bytes currently charged against maxBytes. Never exceeds options.maxBytes. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Datagrams currently being reassembled. */
  get pending(): number {
    return this.datagrams.size;
  }

  /** Adds one fragment; its bytes are copied if kept (`frag` itself is not kept). */
  add(frag: Fragment): FragmentResult {
    const { key, ts, offset, captured, wireLen, more, headerLen, nextHeader } = frag;
    this.stats.fragments++;
    this.expire(ts);

    let dg = this.datagrams.get(key);
    if (dg !== undefined && ts - dg.firstTs > this.options.timeoutSec) {
      this.discard(dg);
      this.stats.timedOut++;
      dg = undefined;
    }
    if (dg === undefined) {
      while (this.datagrams.size >= this.options.maxDatagrams) {
        const oldest = this.datagrams.values().next().value;
        if (oldest === undefined) break;
        this.discard(oldest);
        this.stats.evicted++;
      }
      dg = { key, firstTs: ts, total: -1, pieces: [], covered: 0, bytes: 0, headerLen: -1, nextHeader: -1 };
      this.datagrams.set(key, dg);
    }

    if (offset === 0 && dg.headerLen < 0) {
      dg.headerLen = headerLen;
      dg.nextHeader = nextHeader;
    }

    let end = offset + wireLen;
    if (!more) {
      if (dg.total < 0) {
        dg.total = end;
        if (this.clipTo(dg, end)) this.stats.inconsistent++;
      } else if (dg.total !== end) {
        this.stats.inconsistent++;
      }
    }
    if (dg.total >= 0 && end > dg.total) {
      if (more) this.stats.inconsistent++;
      end = dg.total;
    }

    if (offset < end) {
      // Holes of [offset, end) not yet covered: first data wins.
      const pieces = dg.pieces;
      // Start at the first piece ending after `offset` (binary search: pieces are sorted and
      // disjoint, so their ends are sorted too) and splice the new pieces in place of the range
      // walked: a fragment costs a search and the pieces it touches, never a pass over all pieces
      // or a sort (a crafted capture of 1-byte fragments makes thousands per datagram).
      let first = 0;
      let hi = pieces.length;
      while (first < hi) {
        const mid = (first + hi) >>> 1;
        if (pieces[mid]!.end <= offset) first = mid + 1;
        else hi = mid;
      }
      const fresh: Piece[] = [];
      /** pieces[first, last) interleaved with the fresh pieces, in offset order. */
      const merged: Piece[] = [];
      let cur = offset;
      let overlap = false;
      let last = first;
      for (; last < pieces.length && cur < end; last++) {
        const p = pieces[last]!;
        if (p.off >= end) break;
        overlap = true;
        if (p.off > cur) {
          const q = makePiece(cur, p.off, offset, captured);
          fresh.push(q);
          merged.push(q);
        }
        merged.push(p);
        cur = p.end;
      }
      if (cur < end) {
        const q = makePiece(cur, end, offset, captured);
        fresh.push(q);
        merged.push(q);
      }
      if (overlap) this.stats.overlaps++;

      if (pieces.length + fresh.length > this.options.maxPieces) {
        // Too many pieces for one datagram: discard it, as when it cannot fit under maxBytes.
        if (pieces.length > 0) this.stats.evicted++;
        this.discard(dg);
        this.stats.droppedOverCap++;
        return DROPPED_OVER_CAP;
      }

      let need = 0;
      for (const p of fresh) need += p.data.length + PIECE_OVERHEAD;
      if (need > 0 && this.bytes + need > this.options.maxBytes) {
        this.makeRoom(need, dg);
        if (this.bytes + need > this.options.maxBytes) {
          if (dg.pieces.length > 0) this.stats.evicted++;
          this.discard(dg);
          this.stats.droppedOverCap++;
          return DROPPED_OVER_CAP;
        }
      }
      for (const p of fresh) dg.covered += p.end - p.off;
      if (fresh.length > 0) pieces.splice(first, last - first, ...merged);
      dg.bytes += need;
      this.bytes += need;
    }

    if (dg.total >= 0 && dg.covered === dg.total) return this.complete(dg);
    return STORED;
  }

  /** Discard datagrams whose first fragment is more than timeoutSec older than `now`. */
  expire(now: number): void {
    const limit = this.options.timeoutSec;
    for (const dg of this.datagrams.values()) {
      if (!(now - dg.firstTs > limit)) break;
      this.discard(dg);
      this.stats.timedOut++;
    }
  }

  /** Forget everything (counters are kept). */
  clear(): void {
    this.datagrams.clear();
    this.bytes = 0;
  }

  private complete(dg: Datagram): FragmentResult {
    const buf = new Uint8Array(dg.total);
    let capturedLen = dg.total;
    for (const p of dg.pieces) {
      buf.set(p.data, p.off);
      if (p.data.length < p.end - p.off && p.off + p.data.length < capturedLen) capturedLen = p.off + p.data.length;
    }
    this.discard(dg);
    this.stats.reassembled++;
    return {
      kind: 'complete',
      data: buf,
      capturedLen,
      headerLen: dg.headerLen < 0 ? 0 : dg.headerLen,
      nextHeader: dg.nextHeader < 0 ? 0 : dg.nextHeader,
    };
  }

  /** Evict oldest datagrams other than `keep` until `need` more bytes fit. */
  private makeRoom(need: number, keep: Datagram): void {
    for (const dg of this.datagrams.values()) {
      if (this.bytes + need <= this.options.maxBytes) return;
      if (dg === keep) continue;
      this.discard(dg);
      this.stats.evicted++;
    }
  }

  /** Drop pieces (or parts) beyond `end`; true if anything was beyond. */
  private clipTo(dg: Datagram, end: number): boolean {
    let clipped = false;
    const kept: Piece[] = [];
    for (const p of dg.pieces) {
      if (p.end <= end) {
        kept.push(p);
        continue;
      }
      clipped = true;
      const before = p.data.length + PIECE_OVERHEAD;
      dg.covered -= p.end - p.off;
      if (p.off < end) {
        const q: Piece = { off: p.off, end, data: p.data.slice(0, Math.min(p.data.length, end - p.off)) };
        kept.push(q);
        dg.covered += q.end - q.off;
        const after = q.data.length + PIECE_OVERHEAD;
        dg.bytes -= before - after;
        this.bytes -= before - after;
      } else {
        dg.bytes -= before;
        this.bytes -= before;
      }
    }
    if (clipped) dg.pieces = kept;
    return clipped;
  }

  private discard(dg: Datagram): void {
    if (this.datagrams.get(dg.key) === dg) this.datagrams.delete(dg.key);
    this.bytes -= dg.bytes;
    dg.bytes = 0;
    dg.pieces = [];
    dg.covered = 0;
  }
}

function makePiece(from: number, to: number, fragOff: number, captured: Uint8Array): Piece {
  const a = from - fragOff;
  const b = Math.min(to - fragOff, captured.length);
  return { off: from, end: to, data: a < b ? captured.slice(a, b) : EMPTY };
}

const EMPTY = new Uint8Array(0);
