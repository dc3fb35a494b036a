/**
 * The encapsulations of Zeek's own test traces (../shared/captures/zeek), decoded: which flows came
 * through which encapsulations, how many packets went through each, and not one weird or decoder
 * error on any trace. (Their conn_state and history against Zeek's conn.log: test/flow/zeek-conn.test.ts.)
 */
import { expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import { inventoryFromFlags } from '../../src/policy/inventory.js';
import { loadRuleSet } from '../../src/policy/load.js';
import { zeekCases, zeekCorpus, zeekDescribe, zeekIndex } from '../helpers/zeek-corpus.js';

/** Trace -> [flows by encapsulation (JSON of the list, "-" for none), packets by encapsulation kind]. */
const EXPECTED: Record<string, [Record<string, number>, Record<string, number>]> = {
  'traces/ayiya3.pcap': [{ '-': 2, '["ayiya"]': 6 }, { ayiya: 32 }],
  'traces/cisco-fabric-path.pcap': [{ '-': 64 }, { fabricpath: 64 }],
  'traces/gtp1_gn_normal_incl_fragmentation.pcap': [{ '-': 1, '["gtp"]': 1 }, { gtp: 68 }],
  'traces/gtp3_false_gtp.pcap': [{ '["vlan"]': 1 }, { vlan: 1 }],
  'traces/gtp8_teredo.pcap': [{ '-': 6, '["gtp"]': 9, '["gtp","teredo"]': 2 }, { gtp: 20, teredo: 10 }],
  'traces/gtp10_not_0xff.pcap': [{ '-': 2 }, {}],
  'traces/mixed-vlan-mpls.pcap': [{ '-': 1, '["vlan"]': 1, '["mpls"]': 1 }, { vlan: 14, mpls: 11 }],
  'traces/mpls-in-vlan.pcap': [{ '["vlan"]': 1, '["vlan","mpls"]': 2 }, { vlan: 3, mpls: 2 }],
  'traces/pbb.pcap': [{ '["vlan","pbb"]': 2, '["vlan","pbb","vlan"]': 1 }, { vlan: 18, pbb: 10 }],
  'traces/pppoe.pcap': [{ '["pppoe"]': 7 }, { pppoe: 25 }],
  'traces/pppoe-over-qinq.pcap': [{ '["vlan","pppoe"]': 1 }, { vlan: 86, pppoe: 86 }],
  'traces/q-in-q.pcap': [{ '["vlan"]': 2 }, { vlan: 4 }],
  'traces/quic-interop-retry.pcap': [{ '-': 3 }, {}],
  'traces/radiotap.pcap': [{ '-': 2 }, {}],
  'traces/vntag.pcap': [{ '["vntag","vlan"]': 1 }, { vlan: 3, vntag: 3 }],
  'traces/vntag_vlan_sandwich_clean.pcap': [{ '["vlan","vntag","vlan"]': 1 }, { vlan: 2, vntag: 1 }],
  'traces/wlanmon.pcap': [{ '-': 2 }, {}],
};

zeekDescribe("encapsulations of Zeek's test traces", () => {
  const traces = zeekCases(() => [...new Set(zeekIndex().map((t) => t.trace))].sort());

  it('every encapsulated trace above is in the index', () => {
    for (const trace of Object.keys(EXPECTED)) expect(traces).toContain(trace);
  });

  it.each(traces.map((t) => [t]))('%s: flows and packets by encapsulation, no weird', (trace) => {
    const flows: Record<string, number> = {};
    const result = analyzeCaptures({
      files: [zeekCorpus(trace)],
      rules: loadRuleSet('native'),
      inventory: inventoryFromFlags({ node: ['192.0.2.1'] }),
      onFlow: (f) => {
        const k = f.encapsulation === undefined ? '-' : JSON.stringify(f.encapsulation);
        flows[k] = (flows[k] ?? 0) + 1;
      },
    });
    expect(result.decoder.internalErrors).toBe(0);
    expect(Object.fromEntries(result.decoder.malformedReasons)).toEqual({});
    expect(result.decoder.inner.malformed).toBe(0);
    const expected = EXPECTED[trace];
    if (expected === undefined) {
      expect(Object.fromEntries(result.decoder.encapsulations), 'a plain trace').toEqual({});
      return;
    }
    expect(flows).toEqual(expected[0]);
    expect(Object.fromEntries(result.decoder.encapsulations)).toEqual(expected[1]);
  });
});
