/**
 * Differential test against Zeek: every trace of ../shared/captures/zeek analysed by netmatrix, every
 * connection of the conn.log Zeek wrote for it matched with netmatrix's flows (protocol and endpoints
 * in either orientation; the start time where Zeek's log has one), and conn_state and history compared.
 *
 * zeek-conn.known.yaml beside this file lists what is allowed to differ and why: protocols netmatrix
 * does not track as connections, traces whose encapsulation it does not decode, and each remaining
 * difference (trace, connection, field, ours, Zeek's, reason). The test fails on a difference the list
 * does not have and on a listed one that no longer occurs, so the list stays the truth; and it asserts
 * at least 98% agreement on each field over the TCP and UDP connections of the traces netmatrix decodes.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import { CaptureError } from '../../src/model/errors.js';
import { inventoryFromFlags } from '../../src/policy/inventory.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { loadRuleSet } from '../../src/policy/load.js';
import { parseZeekTsv, zeekCases, zeekCorpus, zeekDescribe, zeekIndex, type ZeekRow, type ZeekTrace } from '../helpers/zeek-corpus.js';

const KNOWN_FILE = fileURLToPath(new URL('./zeek-conn.known.yaml', import.meta.url));

interface Known {
  /** Zeek protocol names (its `proto` field) netmatrix does not track as connections, and why. */
  untracked: Record<string, string>;
  traces: Record<string, { undecoded?: string; port?: number; why?: string }>;
  differences: Difference[];
}

interface Difference {
  trace: string;
  /** "proto orig:port -> resp:port" as Zeek logged it (as netmatrix did for a connection Zeek lacks). */
  connection: string;
  /** conn_state, history, or connection (one side has no such connection). */
  field: 'conn_state' | 'history' | 'connection';
  ours: string;
  zeek: string;
  reason?: string;
}

interface TraceResult {
  name: string;
  undecoded: boolean;
  /** Zeek's connections (after the trace's filter) and netmatrix's extra ones. */
  total: number;
  /** Of those: TCP/UDP connections, what the agreement target counts. */
  tracked: number;
  stateOk: number;
  historyOk: number;
  trackedStateOk: number;
  trackedHistoryOk: number;
  missing: number;
  /** Zeek's connections netmatrix has no flow for, by Zeek's protocol name. */
  missingByProto: Map<string, number>;
  differences: Difference[];
}

const endpoint = (ip: string, port: number | string): string => `${ip}:${port}`;
const zeekConn = (z: ZeekRow): string =>
  `${z.proto} ${endpoint(z['id.orig_h'] ?? '', z['id.orig_p'] ?? '')} -> ${endpoint(z['id.resp_h'] ?? '', z['id.resp_p'] ?? '')}`;
const ourConn = (f: JudgedFlow): string => `${f.transport} ${endpoint(f.client.ip, f.client.port)} -> ${endpoint(f.server.ip, f.server.port)}`;
const stateAndHistory = (state: string, history: string): string => `${state} ${history === '' ? '-' : history}`;

/** netmatrix's flows for a trace; none when its link type is one the trace is marked undecoded for. */
function analyze(trace: ZeekTrace, undecoded: boolean): JudgedFlow[] {
  const flows: JudgedFlow[] = [];
  try {
    analyzeCaptures({
      files: [zeekCorpus(trace.trace)],
      rules: loadRuleSet('native'),
      // Nobody is a component: the inventory only has to exist; connection tracking does not depend on it.
      inventory: inventoryFromFlags({ node: ['192.0.2.1'] }),
      onFlow: (f) => flows.push(f),
    });
  } catch (err) {
    if (!(undecoded && err instanceof CaptureError && err.code === 'unsupported-linktype')) throw err;
  }
  return flows.sort((a, b) => a.start - b.start || a.id - b.id);
}

function compare(trace: ZeekTrace, known: Known): TraceResult {
  const options = known.traces[trace.name] ?? {};
  const keep = (ports: (string | number | undefined)[]): boolean => options.port === undefined || ports.some((p) => Number(p) === options.port);
  const zeek = parseZeekTsv(trace.baseline, readFileSync(zeekCorpus(trace.baseline), 'utf8')).filter((z) =>
    keep([z['id.orig_p'], z['id.resp_p']]),
  );
  const ours = analyze(trace, options.undecoded !== undefined).filter((f) => keep([f.client.port, f.server.port]));
  const used = new Set<number>();
  const r: TraceResult = {
    name: trace.name,
    undecoded: options.undecoded !== undefined,
    total: 0,
    tracked: 0,
    stateOk: 0,
    historyOk: 0,
    trackedStateOk: 0,
    trackedHistoryOk: 0,
    missing: 0,
    missingByProto: new Map(),
    differences: [],
  };
  const differ = (connection: string, field: Difference['field'], o: string, z: string): void => {
    r.differences.push({ trace: trace.name, connection, field, ours: o, zeek: z });
  };
  for (const z of zeek) {
    r.total++;
    const proto = z.proto ?? '';
    const tracked = proto === 'tcp' || proto === 'udp';
    if (tracked) r.tracked++;
    const oh = z['id.orig_h'];
    const rh = z['id.resp_h'];
    const op = Number(z['id.orig_p']);
    const rp = Number(z['id.resp_p']);
    const same = (f: JudgedFlow): boolean => f.client.ip === oh && f.client.port === op && f.server.ip === rh && f.server.port === rp;
    const flipped = (f: JudgedFlow): boolean => f.client.ip === rh && f.client.port === rp && f.server.ip === oh && f.server.port === op;
    const candidates = ours.map((f, i) => ({ f, i })).filter(({ f, i }) => !used.has(i) && f.transport === proto && (same(f) || flipped(f)));
    // Zeek's start time where its log has one (btest baselines mostly mask it), else the first in time
    // order, netmatrix's own orientation first.
    const ts = Number(z.ts);
    const pick = Number.isFinite(ts)
      ? candidates.sort((a, b) => Math.abs(a.f.start - ts) - Math.abs(b.f.start - ts))[0]
      : (candidates.find(({ f }) => same(f)) ?? candidates[0]);
    const zState = z.conn_state ?? '';
    const zHistory = z.history ?? '';
    if (!pick) {
      r.missing++;
      r.missingByProto.set(proto, (r.missingByProto.get(proto) ?? 0) + 1);
      if (known.untracked[proto] === undefined && !r.undecoded) differ(zeekConn(z), 'connection', '-', stateAndHistory(zState, zHistory));
      continue;
    }
    used.add(pick.i);
    const f = pick.f;
    if (f.state === zState) {
      r.stateOk++;
      if (tracked) r.trackedStateOk++;
    } else differ(zeekConn(z), 'conn_state', f.state, zState);
    if (f.history === zHistory) {
      r.historyOk++;
      if (tracked) r.trackedHistoryOk++;
    } else differ(zeekConn(z), 'history', f.history, zHistory);
  }
  ours.forEach((f, i) => {
    if (used.has(i)) return;
    r.total++;
    r.tracked++;
    differ(ourConn(f), 'connection', stateAndHistory(f.state, f.history), '-');
  });
  return r;
}

const key = (d: Difference): string => `${d.trace} | ${d.connection} | ${d.field} | ours ${d.ours} | zeek ${d.zeek}`;
const pct = (n: number, of: number): string => (of === 0 ? '-' : `${((100 * n) / of).toFixed(1)}%`);

/** What is in `a` and not in `b`, as multisets of keys. */
function minus(a: Difference[], b: Difference[]): Difference[] {
  const left = new Map<string, number>();
  for (const d of b) left.set(key(d), (left.get(key(d)) ?? 0) + 1);
  return a.filter((d) => {
    const n = left.get(key(d)) ?? 0;
    if (n === 0) return true;
    left.set(key(d), n - 1);
    return false;
  });
}

zeekDescribe("conn_state and history agree with Zeek's conn.log on Zeek's own traces", () => {
  const traces = zeekCases(zeekIndex);
  const known = parse(readFileSync(KNOWN_FILE, 'utf8')) as Known;
  let results: TraceResult[] = [];

  beforeAll(() => {
    results = traces.map((t) => compare(t, known));
    const rows = results.map(
      (r) =>
        `${r.name.padEnd(52)} ${String(r.total).padStart(5)} ${pct(r.stateOk, r.total).padStart(7)} ${pct(r.historyOk, r.total).padStart(7)} ` +
        `${String(r.tracked).padStart(7)} ${pct(r.trackedStateOk, r.tracked).padStart(7)} ${pct(r.trackedHistoryOk, r.tracked).padStart(7)}` +
        `${String(r.missing).padStart(8)}  ${r.undecoded ? 'undecoded: ' + (known.traces[r.name]?.undecoded ?? '') : ''}`,
    );
    const sum = (pick: (r: TraceResult) => number, rs = results): number => rs.reduce((n, r) => n + pick(r), 0);
    const decoded = results.filter((r) => !r.undecoded);
    const line = (title: string, rs: TraceResult[]): string =>
      `${title.padEnd(52)} ${String(sum((r) => r.total, rs)).padStart(5)} ${pct(sum((r) => r.stateOk, rs), sum((r) => r.total, rs)).padStart(7)} ` +
      `${pct(sum((r) => r.historyOk, rs), sum((r) => r.total, rs)).padStart(7)} ${String(sum((r) => r.tracked, rs)).padStart(7)} ` +
      `${pct(sum((r) => r.trackedStateOk, rs), sum((r) => r.tracked, rs)).padStart(7)} ${pct(sum((r) => r.trackedHistoryOk, rs), sum((r) => r.tracked, rs)).padStart(7)}` +
      `${String(sum((r) => r.missing, rs)).padStart(8)}`;
    console.log(
      [
        `${'trace'.padEnd(52)} ${'conns'.padStart(5)} ${'state'.padStart(7)} ${'history'.padStart(7)} ${'tcp/udp'.padStart(7)} ${'state'.padStart(7)} ${'history'.padStart(7)} ${'missing'.padStart(7)}`,
        ...rows,
        line('all traces', results),
        line('traces netmatrix decodes', decoded),
      ].join('\n'),
    );
  }, 120_000);

  it('every trace of the index has its trace and its conn.log', () => {
    expect(traces.length).toBeGreaterThanOrEqual(20);
    for (const t of traces) expect(() => readFileSync(zeekCorpus(t.baseline))).not.toThrow();
    for (const name of Object.keys(known.traces)) expect(traces.map((t) => t.name)).toContain(name);
  });

  it('at least 98% of the TCP and UDP connections of the traces netmatrix decodes agree, on conn_state and on history', () => {
    const decoded = results.filter((r) => !r.undecoded);
    const tracked = decoded.reduce((n, r) => n + r.tracked, 0);
    expect(tracked).toBeGreaterThan(40);
    expect(decoded.reduce((n, r) => n + r.trackedStateOk, 0) / tracked).toBeGreaterThanOrEqual(0.98);
    expect(decoded.reduce((n, r) => n + r.trackedHistoryOk, 0) / tracked).toBeGreaterThanOrEqual(0.98);
  });

  it('every difference is one zeek-conn.known.yaml lists, and every listed one still occurs', () => {
    const found = results.flatMap((r) => r.differences);
    const unlisted = minus(found, known.differences);
    const stale = minus(known.differences, found);
    const show = (ds: Difference[]): string =>
      ds
        .map((d) => `  - { trace: ${d.trace}, connection: "${d.connection}", field: ${d.field}, ours: "${d.ours}", zeek: "${d.zeek}", reason: ... }`)
        .join('\n');
    expect(unlisted, `differences zeek-conn.known.yaml does not list:\n${show(unlisted)}`).toEqual([]);
    expect(stale, `listed differences that no longer occur (remove them):\n${show(stale)}`).toEqual([]);
    for (const d of known.differences) expect(d.reason, key(d)).toMatch(/\w{8,}/);
  });

  it('a trace marked undecoded still misses connections, and an untracked protocol is still absent', () => {
    for (const r of results) {
      if (r.undecoded) expect(r.missing, `${r.name} misses no connection any more: remove its undecoded mark`).toBeGreaterThan(0);
    }
    // A protocol netmatrix starts to track matches Zeek's connections: its entry must go.
    for (const proto of Object.keys(known.untracked)) {
      const missing = results.reduce((n, r) => n + (r.missingByProto.get(proto) ?? 0), 0);
      expect(missing, `no ${proto} connection of Zeek's is missing any more: remove it from untracked`).toBeGreaterThan(0);
    }
  });
});
