/** The monitor's `drops` events: how many packets the kernel ring and the interface lost, and when. */
import type { InterfaceStats } from '../capture/live.js';

export interface DropReport {
  interface: string;
  /** Kernel ring drops (ps_drop) since `since`. */
  dropped: number;
  /** Interface drops (ps_ifdrop) since `since`. */
  ifDropped: number;
  /** The previous look, when there were none of these drops yet (seconds since the epoch). */
  since: number;
  totalDropped: number;
  totalIfDropped: number;
}

/** Remembers the drop totals per interface and reports what grew since the last look. */
export class DropWatch {
  private readonly last = new Map<string, { dropped: number; ifDropped: number; at: number }>();
  constructor(private readonly startedAt: number) {}

  check(stats: InterfaceStats[], now: number): DropReport[] {
    const out: DropReport[] = [];
    for (const s of stats) {
      const prev = this.last.get(s.name) ?? { dropped: 0, ifDropped: 0, at: this.startedAt };
      const dropped = s.dropped - prev.dropped;
      const ifDropped = s.ifDropped - prev.ifDropped;
      if (dropped > 0 || ifDropped > 0) {
        out.push({ interface: s.name, dropped, ifDropped, since: prev.at, totalDropped: s.dropped, totalIfDropped: s.ifDropped });
      }
      this.last.set(s.name, { dropped: s.dropped, ifDropped: s.ifDropped, at: now });
    }
    return out;
  }
}
