/** DropWatch: what the monitor's `drops` lines say, from successive libpcap counter totals. */
import { describe, expect, it } from 'vitest';
import type { InterfaceStats } from '../../src/capture/live.js';
import { DropWatch } from '../../src/monitor/drop-watch.js';

function st(name: string, dropped: number, ifDropped = 0): InterfaceStats {
  return { name, linkType: 1, received: 0, captured: 0, dropped, ifDropped, discarded: 0 };
}

describe('DropWatch', () => {
  it('reports what grew since the last look, per interface, with the interval and the totals', () => {
    const w = new DropWatch(100);
    expect(w.check([st('eth0', 0), st('eth1', 0)], 101)).toEqual([]);
    expect(w.check([st('eth0', 5), st('eth1', 0, 2)], 102)).toEqual([
      { interface: 'eth0', dropped: 5, ifDropped: 0, since: 101, totalDropped: 5, totalIfDropped: 0 },
      { interface: 'eth1', dropped: 0, ifDropped: 2, since: 101, totalDropped: 0, totalIfDropped: 2 },
    ]);
    // Nothing new: nothing said.
    expect(w.check([st('eth0', 5), st('eth1', 0, 2)], 103)).toEqual([]);
    expect(w.check([st('eth0', 12), st('eth1', 0, 2)], 104)).toEqual([
      { interface: 'eth0', dropped: 7, ifDropped: 0, since: 103, totalDropped: 12, totalIfDropped: 0 },
    ]);
  });

  it('drops before the first look are dated from the start', () => {
    const w = new DropWatch(50);
    expect(w.check([st('lo', 3)], 51)).toEqual([{ interface: 'lo', dropped: 3, ifDropped: 0, since: 50, totalDropped: 3, totalIfDropped: 0 }]);
  });
});
