import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { inventoryFromFlags } from '../../src/policy/inventory.js';
import { loadInventoryFile, loadRuleSet } from '../../src/policy/load.js';
import { safeJson } from '../../src/report/escape.js';
import { flowFields } from '../../src/report/json.js';
import { isoTime } from '../../src/report/time.js';
import { corpusIt, publicCorpus } from '../helpers/corpus.js';

function flowsOf(file: string, inventory = loadInventoryFile('captures/lab.hosts.yaml'), matrix = 'native'): JudgedFlow[] {
  const flows: JudgedFlow[] = [];
  analyzeCaptures({ files: [file], rules: loadRuleSet(matrix, 'run'), inventory, onFlow: (f) => flows.push(f) });
  return flows;
}

/**
 * The oracle: the JSON shape of one flow as a plain record object (safeJson of this object is the
 * record's text by definition). flowFields must write exactly the same text.
 */
function flowRecord(f: JudgedFlow): Record<string, unknown> {
  const rec: Record<string, unknown> = { id: f.id, transport: f.transport };
  if (f.transport !== 'tcp' && f.transport !== 'udp') rec.ipProto = f.ipProto;
  Object.assign(rec, { client: f.client, server: f.server, service: f.service, serviceBy: f.serviceBy });
  if (f.tls) rec.tls = f.tls;
  if (f.http) rec.http = f.http;
  if (f.wireguard) rec.wireguard = { messageTypes: f.wireguard };
  Object.assign(rec, {
    state: f.state,
    history: f.history,
    packets: f.packets,
    bytes: f.bytes,
    start: isoTime(f.start),
    end: isoTime(f.end),
    duration: Math.round((f.end - f.start) * 1e6) / 1e6,
    tunnel: f.tunnel,
    endReason: f.endReason,
    rule: f.rule,
    verdict: f.verdict,
  });
  if (f.scope !== undefined) rec.scope = f.scope;
  if (f.encapsulation !== undefined) rec.encapsulation = f.encapsulation;
  rec.findings = f.findings;
  return rec;
}

/** The record object through safeJson: the text flowFields must match. */
const generic = (f: JudgedFlow): string => safeJson(flowRecord(f));

describe('flowFields (the JSON report\'s flow writer)', () => {
  it('writes every flow of every fixture exactly as safeJson(flowRecord(flow))', () => {
    const captures = readdirSync('captures').filter((f) => /\.pcap(ng)?$/.test(f));
    expect(captures.length).toBeGreaterThan(10);
    let n = 0;
    for (const c of captures) {
      for (const f of flowsOf(`captures/${c}`)) {
        expect(`{${flowFields(f)}}`, `${c} flow ${f.id}`).toBe(generic(f));
        n++;
      }
    }
    expect(n).toBeGreaterThan(50);
  });

  corpusIt('writes every flow of the public corpus (real TLS, HTTP, QUIC, DNS, ...) the same way', () => {
    const dir = publicCorpus();
    const inventory = inventoryFromFlags({ node: ['10.0.0.0/8', '172.16.0.0/12'], researcher: ['192.168.0.0/16'], vpnserver: [], tunnel: [] });
    let n = 0;
    for (const c of readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f))) {
      let flows: JudgedFlow[];
      try {
        flows = flowsOf(`${dir}/${c}`, inventory);
      } catch {
        continue; // unsupported link type or not a capture: the CLI reports those, nothing to write
      }
      for (const f of flows) {
        expect(`{${flowFields(f)}}`, `${c} flow ${f.id}`).toBe(generic(f));
        n++;
      }
    }
    expect(n).toBeGreaterThan(300);
  });

  it('escapes strings from packets the same way (hostile ClientHello and Host header)', () => {
    const flows = flowsOf('test/corpus-regressions/hostile-clienthello.pcap', inventoryFromFlags({ node: ['10.0.0.0/8'], researcher: [], vpnserver: [], tunnel: [] }));
    expect(flows.some((f) => f.tls?.sni !== undefined || f.http !== undefined)).toBe(true);
    for (const f of flows) expect(`{${flowFields(f)}}`).toBe(generic(f));
  });

  it('handles the values a crafted flow can carry: quotes, controls, bidi, host names, scope, no rule, NaN', () => {
    const base = flowsOf('captures/node-gui-exposed.pcap').find((f) => f.findings.length > 0);
    expect(base).toBeDefined();
    const f = structuredClone(base as JudgedFlow);
    f.client.host = 'a"b\\c\u0000\u001b[2J\u2028\u202e\u061c\u009b';
    f.server.host = 'plain-host';
    f.scope = 'multicast "x"';
    f.rule = null;
    f.http = { method: 'GET', target: '/\u007f', host: '<img onerror=x>' };
    f.wireguard = [1, 2];
    f.findings.push({ code: 'not-in-matrix', severity: 'violation', message: 'é ü \u200f "quoted"' });
    f.start = Number.NaN;
    const text = `{${flowFields(f)}}`;
    expect(text).toBe(generic(f));
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u2028\u2029\u200e\u200f\u202a-\u202e]/);
    expect(JSON.parse(text).client.host).toBe(f.client.host);
  });
});
