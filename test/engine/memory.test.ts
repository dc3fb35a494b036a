/**
 * The input-paced collector: a full collection after enough input, unless few flows began since
 * the previous one (long transfers leave no garbage worth a collection). The heap is measured right
 * after each collection, so that measurement is what shows a collection ran.
 */
import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InputPacedCollector } from '../../src/engine/memory.js';

const MiB = 1024 * 1024;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('InputPacedCollector', () => {
  it('collects after 128 MiB of input when many flows began, and not before', () => {
    const heap = vi.spyOn(v8, 'getHeapStatistics');
    const c = new InputPacedCollector(() => 5000);
    c.progress(100 * MiB);
    expect(heap).not.toHaveBeenCalled();
    c.progress(130 * MiB);
    expect(heap).toHaveBeenCalledTimes(1);
  });

  it('skips a due collection while fewer than 1,000 flows began since the previous one', () => {
    const heap = vi.spyOn(v8, 'getHeapStatistics');
    let flows = 300;
    const c = new InputPacedCollector(() => flows);
    c.progress(130 * MiB);
    c.progress(300 * MiB);
    expect(heap).not.toHaveBeenCalled();
    flows = 1300;
    c.progress(450 * MiB);
    expect(heap).toHaveBeenCalledTimes(1);
    // Counted from that collection on: 600 more flows are not enough for the next one.
    flows = 1900;
    c.progress(1000 * MiB);
    expect(heap).toHaveBeenCalledTimes(1);
  });
});
