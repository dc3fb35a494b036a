/**
 * Keeps the heap near the live data while a long file streams through. Flows live long enough to be
 * promoted to V8's old space and die there; V8 lets that garbage pile up to a limit that grows with
 * the run, so without help a file twice as long peaks about 20% higher although the live flows are
 * the same. A full collection after every so many bytes of input (at least 128 MiB, and at least 4
 * times the heap left after the previous one, so its cost stays a small share of the reading) keeps
 * peak memory following the live flows, not the file size. The garbage is ended flows: when few
 * flows began since the previous collection (long transfers on a few connections), there is little
 * to collect and the collection is skipped.
 *
 * `gc` is reached the way Jest's --logHeapUsage does: --expose-gc set at run time, the function taken
 * from a new context. If that ever fails, collection is simply left to V8.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

const MIN_INTERVAL = 128 * 1024 * 1024;
const HEAP_MULTIPLE = 4;
/** New flows since the previous collection below which a due collection is skipped. */
const MIN_NEW_FLOWS = 1000;

let gcFn: (() => void) | null | undefined;

function getGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn: unknown = vm.runInNewContext('gc');
    v8.setFlagsFromString('--no-expose-gc');
    gcFn = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Call with the input bytes processed so far; collects when enough input went by. */
export class InputPacedCollector {
  private next = MIN_INTERVAL;
  /** Flows seen at the previous collection. */
  private flowsAtLast = 0;

  /** `flowsSeen`: flows begun so far in the run (read only when a collection is due). */
  constructor(private readonly flowsSeen: () => number) {}

  progress(bytesDone: number): void {
    if (bytesDone < this.next) return;
    const flows = this.flowsSeen();
    if (flows - this.flowsAtLast < MIN_NEW_FLOWS) {
      this.next = bytesDone + MIN_INTERVAL;
      return;
    }
    const gc = getGc();
    if (!gc) {
      this.next = Infinity;
      return;
    }
    gc();
    this.flowsAtLast = flows;
    const left = v8.getHeapStatistics().used_heap_size;
    this.next = bytesDone + Math.max(MIN_INTERVAL, HEAP_MULTIPLE * left);
  }
}
