import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import { loadInventoryFile, loadRuleSet } from '../../src/policy/load.js';

describe('analyzeCaptures progress', () => {
  it('reports bytes done against the total size of all inputs (the progress bar needs the total)', () => {
    const files = ['captures/node-clean.pcapng', 'captures/node-inbound.pcap'];
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    const calls: [number, number][] = [];
    analyzeCaptures({
      files,
      rules: loadRuleSet('native'),
      inventory: loadInventoryFile('captures/lab.hosts.yaml'),
      onFlow: () => undefined,
      onProgress: (done, all) => calls.push([done, all]),
    });
    expect(calls.length).toBeGreaterThanOrEqual(files.length);
    // Every call reports the same total, the files' summed size: a total of 0 would keep the progress bar hidden.
    expect(new Set(calls.map(([, all]) => all))).toEqual(new Set([total]));
    expect(calls.at(-1)).toEqual([total, total]);
    for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThanOrEqual(calls[i - 1]![0]);
  });
});
