/**
 * Zeek's own conn.logs (../shared/captures/zeek/baselines) read with `--input zeek` and judged, against
 * `analyze` of the same trace's pcap (INDEX.tsv pairs them): per connection, the findings that need no
 * payload (every code but protocol-mismatch) and the matrix row must agree.
 *
 * zeek-baselines.exceptions.tsv beside this file lists what differs and why (mostly encapsulations the
 * packet path does not decode yet). The test fails on a difference the list lacks AND on a listed one
 * that no longer occurs, so the list stays the truth as the decoders grow.
 *
 * btest masks the baselines' timestamps (XXXXXXXXXX.XXXXXX); the test gives them one fixed time, which
 * no payload-independent finding depends on (no --secagg-timeout).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import { analyzeRecords } from '../../src/engine/records.js';
import { CaptureError } from '../../src/model/errors.js';
import { inventoryFromFlags } from '../../src/policy/inventory.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { loadRuleSet } from '../../src/policy/load.js';
import { readExceptionRows } from '../helpers/exceptions.js';
import { zeekCases, zeekCorpus, zeekDescribe, zeekIndex, type ZeekTrace } from '../helpers/zeek-corpus.js';

const EXCEPTIONS = fileURLToPath(new URL('./zeek-baselines.exceptions.tsv', import.meta.url));

/**
 * Private and link-local addresses are nodes, the rest the internet; the install phase allows a node's
 * HTTP/HTTPS out. So the traces give allowed flows, refused ones (connection-failed), inbound
 * connections to a node, flows no row allows and localhost traffic.
 */
const inventory = inventoryFromFlags({
  node: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', 'fc00::/7', 'fe80::/10', '::1/128'],
  researcher: [],
  vpnserver: [],
  tunnel: [],
});
const rules = loadRuleSet('native', 'install');

/** Traces Zeek read with a BPF filter: the pcap path's flows are filtered the same way. */
const FILTERS: Record<string, (f: JudgedFlow) => boolean> = {
  // testing/btest/core/pcap/read-trace-with-filter.zeek: "port 50000".
  'core.pcap.read-trace-with-filter': (f) => f.client.port === 50000 || f.server.port === 50000,
};

const connection = (f: JudgedFlow): string => `${f.transport} ${f.client.ip}:${f.client.port} -> ${f.server.ip}:${f.server.port}`;
/** What is compared: the row and the findings that need no payload. */
const judgement = (f: JudgedFlow): string => {
  const codes = f.findings.map((x) => x.code).filter((c) => c !== 'protocol-mismatch').sort();
  return `rule=${f.rule ?? '-'} findings=${codes.join(',') || '-'}`;
};

function byConnection(flows: JudgedFlow[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of flows) {
    const k = connection(f);
    const list = m.get(k) ?? [];
    list.push(judgement(f));
    m.set(k, list);
  }
  for (const list of m.values()) list.sort();
  return m;
}

interface Exception {
  trace: string;
  connection: string;
  reason: string;
}

function loadExceptions(): Exception[] {
  return readExceptionRows(EXCEPTIONS).map(([trace = '', connection = '', reason = '']) => ({ trace, connection, reason }));
}

const tmp = mkdtempSync(join(tmpdir(), 'nm-zeek-baselines-'));

zeekDescribe("Zeek's conn.logs judged with --input zeek agree with the pcap path", () => {
  const traces = zeekCases(() => zeekIndex());
  /** trace -> connection -> "ours (records) / pcap". */
  const differences = new Map<string, Map<string, string>>();

  beforeAll(async () => {
    for (const t of traces) differences.set(t.name, await compare(t));
  }, 120_000);

  async function compare(t: ZeekTrace): Promise<Map<string, string>> {
    const log = join(tmp, `${t.name}.conn.log`);
    writeFileSync(log, readFileSync(zeekCorpus(t.baseline), 'utf8').replace(/X{10}\.X{6}/g, '1700000000.000000'));
    const fromRecords: JudgedFlow[] = [];
    await analyzeRecords({ input: 'zeek', files: [log], rules, inventory, onFlow: (f) => fromRecords.push(f) });
    const fromPcap: JudgedFlow[] = [];
    const out = new Map<string, string>();
    try {
      analyzeCaptures({ files: [zeekCorpus(t.trace)], rules, inventory, onFlow: (f) => fromPcap.push(f) });
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e;
      if (fromRecords.length > 0) out.set('*', `pcap path: ${e.message.replace(/^.*: /, '')}`);
      return out;
    }
    const a = byConnection(fromRecords);
    const filter = FILTERS[t.name];
    const b = byConnection(filter ? fromPcap.filter(filter) : fromPcap);
    for (const k of new Set([...a.keys(), ...b.keys()])) {
      const x = (a.get(k) ?? ['(none)']).join(' | ');
      const y = (b.get(k) ?? ['(none)']).join(' | ');
      if (x !== y) out.set(k, `records: ${x}; pcap: ${y}`);
    }
    return out;
  }

  it('every difference is listed with its reason, and every listed one still occurs', () => {
    const listed = loadExceptions();
    const key = (trace: string, conn: string): string => `${trace}\t${conn}`;
    const listedKeys = new Set(listed.map((e) => key(e.trace, e.connection)));
    const unlisted: string[] = [];
    const seen = new Set<string>();
    for (const [trace, diffs] of differences) {
      for (const [conn, what] of diffs) {
        const k = key(trace, conn);
        seen.add(k);
        if (!listedKeys.has(k)) unlisted.push(`${k}\t${what}`);
      }
    }
    const vanished = [...listedKeys].filter((k) => !seen.has(k));
    expect(unlisted, 'differences not in zeek-baselines.exceptions.tsv').toEqual([]);
    expect(vanished, 'listed in zeek-baselines.exceptions.tsv but no longer different: remove them').toEqual([]);
    for (const e of listed) expect(e.reason, `${e.trace} ${e.connection}: a reason`).not.toBe('');
  });

  it('the traces the packet path decodes give flows on both paths', () => {
    const agreeing = [...differences.values()].filter((d) => d.size === 0).length;
    expect(agreeing).toBeGreaterThan(0);
  });
});
