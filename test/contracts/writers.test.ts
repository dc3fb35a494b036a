/**
 * Every report writer (table, with and without colour, JSON, JSONL, Markdown, HTML) is run over the
 * same judged flows and must state the same facts: how many flows, each verdict's count, each
 * finding code's count (flows and capture findings), violations, warnings and the exit code. And
 * strings from packets are data in every one of them: an SNI, ALPN, HTTP target and Host holding
 * terminal escapes (OSC, CSI, SGR, BEL, C1 CSI U+009B, DEL), bidi controls, line separators, HTML,
 * quotes, Markdown syntax and bytes that are not UTF-8 are shown escaped the way each format escapes
 * (src/report/escape.ts, markdown.ts mdCell, html.ts htmlText and scriptJson), never raw.
 *
 * The flows come once from analyze (src/engine/analyze.ts) over fixture captures of the lab plus a
 * capture built here, in one run, exactly as the CLI streams them to its writer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import { FINDING_CODES, type CaptureFinding, type JudgedFlow, type Verdict } from '../../src/policy/judge.js';
import { loadInventoryFile, loadRuleSet } from '../../src/policy/load.js';
import { HtmlWriter } from '../../src/report/html.js';
import { JsonlWriter, JsonWriter } from '../../src/report/json.js';
import { MarkdownWriter } from '../../src/report/markdown.js';
import { reportHeader, Tally, type RunSummary } from '../../src/report/summary.js';
import { TableWriter } from '../../src/report/table.js';
import type { ReportWriter, Sink } from '../../src/report/writer.js';
import { bytes, eth, ipv4, tcpConnectionFrames, v4, type TimedFrame } from '../helpers/frames.js';
import { writePcap } from '../helpers/pcap.js';
import { clientHello } from '../helpers/tls.js';

// ---------------------------------------------------------------------------------------------
// The judged flows

const NODE = '10.77.0.2'; // node1 in captures/lab.hosts.yaml
const OUTSIDE = '203.0.113.5';

const enc = new TextEncoder();
/** Terminal escapes, bidi and separators, HTML, quotes, a backslash and Markdown syntax. */
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\u009b31m<script>alert(1)</script>"q\'\\|*_[x](y)`\u202e\u061c\u2066\u2028\u007f';
/** The SNI's bytes: HOSTILE, then bytes that are not UTF-8 (0xff, an overlong NUL, a lone 0x9b), then a name. */
const SNI_BYTES = bytes(enc.encode(HOSTILE), [0xff, 0xc0, 0x80, 0x9b], enc.encode('.evil.example'));
/** What the classifier reads: every byte that is not UTF-8 becomes U+FFFD. */
const SNI = `${HOSTILE}\ufffd\ufffd\ufffd\ufffd.evil.example`;
const ALPN = ['h2', '\u001b[31mred\u009b0m<b>'];
const TARGET = '/\u009b2J<script>|';
const HOST = `\u001b[1;31mhost\u202e<img src=x onerror=alert(1)>"'&amp;`;

const tmp = mkdtempSync(join(tmpdir(), 'nm-contract-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An Ethernet IPv4 frame of protocol `proto` (ICMP, OSPF, ...) carrying `payload`. */
const ipFrame = (ts: number, src: string, dst: string, proto: number, payload: Uint8Array): TimedFrame => ({
  ts,
  data: eth(0x0800, ipv4({ src: v4(src), dst: v4(dst), proto }, payload)),
});

/**
 * The node sends the hostile strings to the Internet (TLS and HTTP: not-in-matrix); its GUI is
 * reached from localhost (allowed) and from the Internet (inbound-to-node, gui-not-localhost). The
 * Internet pings the node and the node answers; an OSPF hello: out-of-scope ICMP and unknown_transport
 * flows, in every writer.
 */
function craftedCapture(): string {
  const get = (target: string, host: string): Uint8Array => enc.encode(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  const out = { client: NODE, server: OUTSIDE };
  const gui = { sport: 8484, request: get('/', 'localhost:8484') };
  return writePcap(join(tmp, 'crafted.pcap'), [
    ...tcpConnectionFrames({ ...out, t0: 1_800_000_000, cport: 40000, sport: 443, request: clientHello({ sni: SNI_BYTES, alpn: ALPN }) }),
    ...tcpConnectionFrames({ ...out, t0: 1_800_000_001, cport: 40001, sport: 80, request: get(TARGET, HOST) }),
    ...tcpConnectionFrames({ ...gui, t0: 1_800_000_002, client: '127.0.0.1', cport: 40002, server: '127.0.0.1' }),
    ...tcpConnectionFrames({ ...gui, t0: 1_800_000_003, client: '198.51.100.7', cport: 40003, server: NODE }),
    ipFrame(1_800_000_004, OUTSIDE, NODE, 1, bytes([8, 0, 0, 0, 0, 1, 0, 1], new Uint8Array(56))),
    ipFrame(1_800_000_004.001, NODE, OUTSIDE, 1, bytes([0, 0, 0, 0, 0, 1, 0, 1], new Uint8Array(56))),
    ipFrame(1_800_000_005, NODE, '224.0.0.5', 89, new Uint8Array(44)),
  ]);
}

/**
 * Lab captures chosen for their variety, none with the mandatory gRPC session (so the run has a
 * capture finding, mandatory-missing): refused connections (warnings), h2c where TLS is due
 * (protocol-mismatch), MQTT inbound and not in the matrix, local flows, out-of-scope flows.
 */
const FIXTURES = ['captures/researcher-down.pcap', 'captures/node-h2c.pcap', 'captures/mqtt-violations.pcap', 'captures/mqtt-clean.pcap', 'captures/docker-exposed.pcap'];

interface Run {
  flows: JudgedFlow[];
  summary: RunSummary;
  captureFindings: CaptureFinding[];
  /** Each writer's whole output. */
  outputs: Record<WriterName, string>;
}

const WRITERS = {
  table: (sink: Sink) => new TableWriter(sink, { color: false, maxRows: 1000 }),
  'table (colour)': (sink: Sink) => new TableWriter(sink, { color: true, maxRows: 1000 }),
  json: (sink: Sink) => new JsonWriter(sink),
  jsonl: (sink: Sink) => new JsonlWriter(sink),
  markdown: (sink: Sink) => new MarkdownWriter(sink, 1000),
  html: (sink: Sink) => new HtmlWriter(sink, loadRuleSet('native', 'run'), 1000),
} satisfies Record<string, (sink: Sink) => ReportWriter>;
type WriterName = keyof typeof WRITERS;
const NAMES = Object.keys(WRITERS) as WriterName[];

/** Analyze once, as the CLI does: flows stream to every writer as they end, the summary last. */
function judge(): Run {
  const rules = loadRuleSet('native', 'run');
  const inventory = loadInventoryFile('captures/lab.hosts.yaml');
  const files = [...FIXTURES, craftedCapture()];
  const texts = Object.fromEntries(NAMES.map((n) => [n, ''])) as Record<WriterName, string>;
  const writers = NAMES.map((n) => [n, WRITERS[n]((t) => (texts[n] += t))] as const);
  const header = reportHeader(rules, inventory, files);
  for (const [, w] of writers) w.begin(header);
  const flows: JudgedFlow[] = [];
  const tally = new Tally();
  const result = analyzeCaptures({
    files,
    rules,
    inventory,
    onFlow: (f) => {
      flows.push(f);
      tally.add(f);
      for (const [, w] of writers) w.flow(f);
    },
  });
  tally.addCapture(result.captureFindings);
  const summary = tally.summary(result);
  for (const [, w] of writers) w.end(summary, result.captureFindings);
  return { flows, summary, captureFindings: result.captureFindings, outputs: texts };
}

let run: Run;
beforeAll(() => {
  run = judge();
});

// ---------------------------------------------------------------------------------------------
// The facts each writer states, read back from its output

interface Facts {
  flows: number;
  verdicts: Record<Verdict, number>;
  /** Finding code -> rows listed (flow findings and capture findings). */
  findings: Partial<Record<string, number>>;
  violations: number;
  warnings: number;
  exitCode: number;
}

const CODES = new Set<string>(FINDING_CODES);

function count(codes: string[]): Partial<Record<string, number>> {
  const out: Partial<Record<string, number>> = {};
  for (const c of [...codes].sort()) out[c] = (out[c] ?? 0) + 1;
  return out;
}

/** "N packets, M flows (a allowed, b violating, c with warnings, d local, e out of scope); V violations, W warnings", give or take punctuation. */
function countsLine(text: string): Omit<Facts, 'findings' | 'exitCode'> {
  const m = /(\d+) packets, (\d+) flows:? \(?(\d+) allowed, (\d+) violating, (\d+) with warnings, (\d+) local, (\d+) out of scope\)?; (?:\*\*|<b>)?(\d+) violations?(?:\*\*|<\/b>)?, (\d+) warnings?/.exec(text);
  if (!m) throw new Error('no counts line');
  const n = m.slice(2).map(Number);
  return {
    flows: n[0]!,
    verdicts: { allowed: n[1]!, violation: n[2]!, warning: n[3]!, local: n[4]!, 'out-of-scope': n[5]! },
    violations: n[6]!,
    warnings: n[7]!,
  };
}

/** The table: counts line, RESULT line, and the code column of the violations and warnings tables. */
function tableFacts(text: string): Facts {
  const plain = text.replace(/\u001b\[\d+m/g, '');
  const codes: string[] = [];
  for (const line of plain.split('\n')) {
    if (!line.startsWith('│')) continue;
    const code = line.split('│')[2]?.trim() ?? '';
    if (CODES.has(code)) codes.push(code);
  }
  const result = /RESULT: (VIOLATIONS|compliant|no violation)/.exec(plain)?.[1];
  return { ...countsLine(plain), findings: count(codes), exitCode: result === 'VIOLATIONS' ? 1 : result === 'compliant' ? 0 : 3 };
}

interface JsonFinding {
  code: string;
}
interface JsonFlow {
  verdict: Verdict;
  findings: JsonFinding[];
}
interface JsonSummary {
  flows: number;
  verdicts: Record<Verdict, number>;
  findings: Record<string, number>;
  violations: number;
  warnings: number;
  exitCode: number;
}

/** JSON and JSONL: the flows and capture findings listed, checked against the summary they end with. */
function listedFacts(flows: JsonFlow[], captureFindings: JsonFinding[], summary: JsonSummary): Facts {
  const verdicts: Record<Verdict, number> = { allowed: 0, violation: 0, warning: 0, local: 0, 'out-of-scope': 0 };
  for (const f of flows) verdicts[f.verdict]++;
  const findings = count([...flows.flatMap((f) => f.findings.map((x) => x.code)), ...captureFindings.map((x) => x.code)]);
  expect({ flows: summary.flows, verdicts: summary.verdicts, findings: summary.findings }).toEqual({ flows: flows.length, verdicts, findings });
  return { flows: flows.length, verdicts, findings, violations: summary.violations, warnings: summary.warnings, exitCode: summary.exitCode };
}

function jsonFacts(text: string): Facts {
  const doc = JSON.parse(text) as { flows: JsonFlow[]; captureFindings: JsonFinding[]; summary: JsonSummary };
  return listedFacts(doc.flows, doc.captureFindings, doc.summary);
}

function jsonlFacts(text: string): Facts {
  const records = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { record: string });
  const of = <T>(kind: string): T[] => records.filter((r) => r.record === kind) as T[];
  expect(records[0]?.record).toBe('header');
  expect(records.at(-1)?.record).toBe('summary');
  return listedFacts(of<JsonFlow>('flow'), of<JsonFinding>('finding'), of<JsonSummary>('summary')[0]!);
}

/** Markdown: the heading, the counts line and the code column of the findings table (| escaped as \|). */
function markdownFacts(text: string): Facts {
  const codes: string[] = [];
  const findings = text.split('### Findings')[1] ?? '';
  for (const line of findings.split('\n').filter((l) => l.startsWith('| ')).slice(2)) {
    codes.push((line.split(/(?<!\\)\|/)[3] ?? '').trim());
  }
  const heading = /^## netmatrix: (.*)$/m.exec(text)?.[1] ?? '';
  return {
    ...countsLine(text),
    findings: count(codes),
    exitCode: heading.includes('violations') ? 1 : heading.includes('incomplete') ? 3 : 0,
  };
}

/** HTML: the counts paragraph, the banner's exit code and the data-code of every finding row. */
function htmlFacts(text: string): Facts {
  const codes = [...text.matchAll(/<tr class="sev-(?:violation|warning)" data-code="([^"]*)">/g)].map((m) => m[1]!);
  const exit = /<div class="banner r\d">Result: [^<]* \(exit (\d)\)<\/div>/.exec(text)?.[1];
  return { ...countsLine(/<p class="counts">(.*?)<\/p>/.exec(text)?.[1] ?? ''), findings: count(codes), exitCode: Number(exit) };
}

const FACTS: Record<WriterName, (text: string) => Facts> = {
  table: tableFacts,
  'table (colour)': tableFacts,
  json: jsonFacts,
  jsonl: jsonlFacts,
  markdown: markdownFacts,
  html: htmlFacts,
};

/** The facts from the judged flows themselves. */
function truth(r: Run): Facts {
  const verdicts: Record<Verdict, number> = { allowed: 0, violation: 0, warning: 0, local: 0, 'out-of-scope': 0 };
  for (const f of r.flows) verdicts[f.verdict]++;
  const all = [...r.flows.flatMap((f) => f.findings), ...r.captureFindings];
  const violations = all.filter((x) => x.severity === 'violation').length;
  return {
    flows: r.flows.length,
    verdicts,
    findings: count(all.map((x) => x.code)),
    violations,
    warnings: all.length - violations,
    exitCode: violations > 0 ? 1 : 0,
  };
}

describe('every report writer states the same facts about the same judged flows', () => {
  it('the flows cover every verdict and several finding codes, with a capture finding', () => {
    const t = truth(run);
    for (const v of Object.values(t.verdicts)) expect(v).toBeGreaterThan(0);
    expect(Object.keys(t.findings).sort()).toEqual([...FINDING_CODES].filter((c) => c !== 'secagg-not-closed' && c !== 'outside-tunnel').sort());
    expect(run.captureFindings.length).toBeGreaterThan(0);
    expect(t.exitCode).toBe(1);
  });

  it.each(NAMES)('%s', (name) => {
    expect(FACTS[name](run.outputs[name])).toEqual(truth(run));
  });
});

// ---------------------------------------------------------------------------------------------
// Strings from packets

/** What must never reach a reader raw: C0 controls but newline, DEL, C1 (U+0080-U+009F), bidi controls, line separators. */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

describe('strings from packets are escaped by every writer', () => {
  it('the hostile flows were judged, with the strings as the classifier read them', () => {
    const tls = run.flows.find((f) => f.tls?.sni !== undefined && f.server.ip === OUTSIDE)?.tls;
    const http = run.flows.find((f) => f.http !== undefined && f.server.ip === OUTSIDE)?.http;
    expect(tls).toMatchObject({ sni: SNI, alpn: ALPN });
    expect(http).toMatchObject({ method: 'GET', target: TARGET, host: HOST });
  });

  it.each(NAMES)('%s: nothing raw', (name) => {
    // The coloured table's own SGR codes are the only escape sequences it may write.
    const text = name === 'table (colour)' ? run.outputs[name].replace(/\u001b\[\d+m/g, '') : run.outputs[name];
    expect(text).not.toMatch(RAW);
  });

  it('table: control characters, bidi controls and backslashes as \\xNN / \\uNNNN / \\\\, the rest as it is', () => {
    for (const name of ['table', 'table (colour)'] as const) {
      const text = run.outputs[name];
      expect(text).toContain(
        'sni=\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m<script>alert(1)</script>"q\'\\\\|*_[x](y)`\\u202e\\u061c\\u2066\\u2028\\x7f\ufffd\ufffd\ufffd\ufffd.evil.example',
      );
      expect(text).toContain('alpn=h2,\\x1b[31mred\\x9b0m<b>');
      expect(text).toContain('GET /\\x9b2J<script>|');
      expect(text).toContain('host=\\x1b[1;31mhost\\u202e<img src=x onerror=alert(1)>"\'&amp;');
    }
  });

  it('json and jsonl: the exact strings parse back, with DEL, C1 and bidi controls as \\u escapes', () => {
    const doc = JSON.parse(run.outputs.json) as { flows: { tls?: { sni?: string; alpn: string[] }; http?: { target: string; host?: string } }[] };
    const lines = run.outputs.jsonl
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: string; tls?: { sni?: string; alpn: string[] }; http?: { target: string; host?: string } });
    for (const flows of [doc.flows, lines.filter((l) => l.record === 'flow')]) {
      expect(flows.find((f) => f.tls?.sni === SNI)?.tls?.alpn).toEqual(ALPN);
      expect(flows.find((f) => f.http?.host === HOST)?.http?.target).toBe(TARGET);
    }
    for (const name of ['json', 'jsonl'] as const) {
      const text = run.outputs[name];
      expect(text).toContain('"sni":"\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m<script>alert(1)</script>\\"q\'\\\\|*_[x](y)`\\u202e\\u061c\\u2066\\u2028\\u007f');
    }
  });

  it('markdown: terminal escapes first, then & < > and Markdown syntax (| ` * _ [ ] ~) neutralised', () => {
    const text = run.outputs.markdown;
    expect(text).toContain(
      'sni=\\x1b\\]0;pwned\\x07\\x1b\\[2J\\x9b31m&lt;script&gt;alert(1)&lt;/script&gt;"q\'\\\\\\|\\*\\_\\[x\\](y)\\`\\u202e\\u061c\\u2066\\u2028\\x7f\ufffd\ufffd\ufffd\ufffd.evil.example',
    );
    expect(text).toContain('alpn=h2,\\x1b\\[31mred\\x9b0m&lt;b&gt;');
    expect(text).toContain('GET /\\x9b2J&lt;script&gt;\\|');
    expect(text).toContain('host=\\x1b\\[1;31mhost\\u202e&lt;img src=x onerror=alert(1)&gt;"\'&amp;amp;');
    expect(text).not.toMatch(/<script|<img|<b>/);
  });

  it('html: terminal escapes first, then & < > " \' as entities; the script data cannot close its element', () => {
    const text = run.outputs.html;
    expect(text).toContain(
      'sni=\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m&lt;script&gt;alert(1)&lt;/script&gt;&quot;q&#39;\\\\|*_[x](y)`\\u202e\\u061c\\u2066\\u2028\\x7f\ufffd\ufffd\ufffd\ufffd.evil.example',
    );
    expect(text).toContain('alpn=h2,\\x1b[31mred\\x9b0m&lt;b&gt;');
    expect(text).toContain('GET /\\x9b2J&lt;script&gt;|');
    expect(text).toContain('host=\\x1b[1;31mhost\\u202e&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;amp;');
    expect(text).not.toMatch(/<script>alert|<img|0m<b>/);
    // The page's own two scripts are its only <script> elements.
    expect(text.match(/<script\b/g)).toHaveLength(2);
    const data = /<script type="application\/json" id="nm-data">(.*?)<\/script>/s.exec(text)?.[1] ?? '';
    expect(data).toContain('\\u003cscript\\u003ealert(1)\\u003c/script\\u003e');
    expect(data).not.toMatch(/[<>]/);
  });
});

describe('ICMP and other IP protocols in every writer', () => {
  it('the crafted ping and OSPF hello are out-of-scope flows with no finding, counted by every writer', () => {
    const other = run.flows.filter((f) => f.transport !== 'tcp' && f.transport !== 'udp');
    expect(other.map((f) => `${f.transport}/${f.ipProto} ${f.client.port}->${f.server.port} ${f.verdict} ${f.scope} ${f.findings.length}`)).toEqual([
      'icmp/1 8->0 out-of-scope icmp 0',
      'unknown_transport/89 0->0 out-of-scope ip-proto-89 0',
    ]);
    expect(run.outputs.table).toContain('icmp/8/0');
    expect(run.outputs.markdown).toContain('ip-proto/89');
    expect(run.outputs.jsonl).toContain('"transport":"icmp","ipProto":1,');
    expect(run.outputs.html).toContain('>icmp/8/0</text>');
  });
});
