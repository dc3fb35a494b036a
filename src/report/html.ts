/**
 * --format html: one self-contained page (inline CSS, SVG and one small script; no network at all,
 * enforced by a Content-Security-Policy meta tag): the communication graph, the matrix marked seen /
 * not seen / violated, the violations and warnings with their evidence on a timeline, and the summary.
 *
 * Strings from packets (and file names) are data: control characters become \xNN (escapeText), then
 * & < > " ' become entities. The script's data sits in a <script type="application/json"> block with
 * < > & escaped as \u003c..., so a crafted SNI cannot close the tag. Memory stays bounded: arrows and
 * their flow samples are capped, findings are kept up to maxRows per severity and counted beyond.
 */
import { createHash } from 'node:crypto';
import type { CaptureFinding, JudgedFlow } from '../policy/judge.js';
import type { RuleSet } from '../policy/load.js';
import { type Role } from '../model/vocabulary.js';
import { formatPorts } from '../policy/schema.js';
import { escapeText, safeJson } from './escape.js';
import { portLabel, type ReportHeader, type RunSummary } from './summary.js';
import { encapsulationLine, evidence } from './table.js';
import { isoTime } from './time.js';
import type { ReportWriter, Sink } from './writer.js';

/** Text for HTML content and attribute values: terminal-safe first, then entities. */
export function htmlText(s: string): string {
  return escapeText(s).replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** JSON for a <script type="application/json"> block: nothing in it can end the element. */
export function scriptJson(value: unknown): string {
  return safeJson(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Arrows drawn at most; the rest are counted. */
export const MAX_ARROWS = 200;
/** Flows listed at most per arrow (in the details panel). */
const FLOWS_PER_ARROW = 20;

type ArrowState = 'violation' | 'warning' | 'allowed' | 'other';
const STATE_RANK: Record<ArrowState, number> = { other: 0, allowed: 1, warning: 2, violation: 3 };

interface Endpoint {
  ip: string;
  role: Role;
  host: string | undefined;
}

interface Arrow {
  key: string;
  transport: string;
  client: Endpoint;
  server: Endpoint;
  port: number;
  /** What the arrow says: `port/service`; for ICMP and other protocols the overview's port label. */
  label: string;
  service: string;
  flows: number;
  bytes: number;
  verdicts: Map<string, number>;
  codes: Set<string>;
  rules: Set<string>;
  samples: string[];
}

interface FindingRow {
  time: number;
  severity: 'violation' | 'warning';
  code: string;
  client: string;
  server: string;
  evidence: string;
  reason: string;
}

interface RowCount {
  ok: number;
  warnings: number;
  violated: number;
}

const ROLE_COLUMNS: { role: Role; title: string }[] = [
  { role: 'researcher', title: 'researcher' },
  { role: 'node', title: 'nodes' },
  { role: 'vpnserver', title: 'vpnserver' },
  { role: 'internet', title: 'internet' },
  { role: 'localhost', title: 'localhost' },
];

const CSS = `
:root{color-scheme:light;--red:#c62828;--green:#2e7d32;--amber:#b26a00;--grey:#8a8f98}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px}
header .meta{font-size:13px;color:#c9cfda;margin-top:4px;overflow-wrap:anywhere}
main{padding:12px 24px 40px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 16px;margin:14px 0}
h2{font-size:17px;margin:0 0 8px}
.banner{font-weight:700;font-size:16px;padding:6px 12px;border-radius:4px;display:inline-block}
#summary p{margin:6px 0}
.banner.r1{background:#fdecea;color:var(--red)}.banner.r0{background:#e8f5e9;color:var(--green)}.banner.r3{background:#fff4e0;color:var(--amber)}
.graphwrap{display:flex;gap:16px;align-items:flex-start}
.graphwrap svg{flex:0 1 auto;min-width:0;height:auto}
#details{flex:1 1 320px;min-width:260px;border-left:3px solid #dde1e7;padding:4px 10px;font-size:13px;max-height:420px;overflow:auto;overflow-wrap:anywhere}
#details h3{font-size:14px;margin:0 0 4px}
#details ul{padding-left:16px;margin:4px 0}
.colhead{font-weight:700;font-size:14px;fill:#4a5262}
.box rect{fill:#fff;stroke:#7b8494;stroke-width:1.2;rx:5}
.box.r-node rect{fill:#eef4ff}.box.r-researcher rect{fill:#f3eefe}.box.r-internet rect{fill:#fff7ea}.box.r-localhost rect{fill:#f1f3f5}.box.r-vpnserver rect{fill:#eafaf5}
.box .ip{font-weight:700;font-size:13px;fill:#1d2330}.box .sub{font-size:11px;fill:#4a5262}
g.edge{cursor:pointer}
g.edge path.line{fill:none;stroke-width:2.2}
g.edge path.hit{fill:none;stroke:transparent;stroke-width:12}
g.edge text{font-size:10.5px;paint-order:stroke;stroke:#fff;stroke-width:3px}
g.edge.allowed path.line{stroke:#2e7d32}g.edge.allowed text{fill:#2e7d32}
g.edge.violation path.line{stroke:#c62828}g.edge.violation text{fill:#c62828}
g.edge.warning path.line{stroke:#b26a00}g.edge.warning text{fill:#b26a00}
g.edge.other path.line{stroke:#8a8f98;stroke-dasharray:5 3}g.edge.other text{fill:#6b7280}
g.edge:hover path.line,g.edge.selected path.line,g.edge:focus path.line{stroke-width:4}
g.edge:focus{outline:none}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}
.lg-allowed{background:#2e7d32}.lg-violation{background:#c62828}.lg-warning{background:#b26a00}.lg-other{background:#8a8f98}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e6eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f2f5}
th.num{text-align:right}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.ev,td.reason{overflow-wrap:anywhere}
.state{font-weight:700;border-radius:3px;padding:1px 6px;white-space:nowrap}
.state.seen{background:#e8f5e9;color:#2e7d32}.state.violated{background:#fdecea;color:#c62828}.state.not-seen{background:#f1f3f5;color:#6b7280}
tr.mandatory-missing .state.not-seen{background:#fff4e0;color:#b26a00}
.sev-violation td.code,.sev-violation .code,h2.violations{color:#c62828}
.sev-warning td.code,h2.warnings{color:#b26a00}
td.code{font-weight:700;white-space:nowrap}
.timeline .axis{stroke:#7b8494}.timeline text{font-size:11px;fill:#4a5262}
.timeline circle.violation{fill:#c62828}.timeline circle.warning{fill:#b26a00}
.more{color:#6b7280;font-style:italic}
ul.exit li.current{font-weight:700}
`;

const SCRIPT = `(function(){
var el=document.getElementById('nm-data');var data=el?JSON.parse(el.textContent||'{}'):{arrows:[]};
var panel=document.getElementById('details');
function add(parent,tag,text){var e=document.createElement(tag);e.textContent=text;parent.appendChild(e);return e;}
function show(g){var a=data.arrows[Number(g.getAttribute('data-arrow'))];if(!a||!panel)return;
var sel=document.querySelectorAll('g.edge.selected');for(var i=0;i<sel.length;i++)sel[i].classList.remove('selected');
g.classList.add('selected');panel.replaceChildren();
add(panel,'h3',a.label);add(panel,'p',a.summary);var ul=add(panel,'ul','');
for(var j=0;j<a.flows.length;j++)add(ul,'li',a.flows[j]);
if(a.more>0)add(panel,'p','... and '+a.more+' more flows').className='more';}
var edges=document.querySelectorAll('g.edge');
for(var k=0;k<edges.length;k++)(function(g){g.addEventListener('click',function(){show(g);});g.addEventListener('mouseenter',function(){show(g);});
g.addEventListener('focus',function(){show(g);});g.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){show(g);e.preventDefault();}});})(edges[k]);
})();`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** No network of any kind: only the page's own inline style and script (by hash) may run. */
export const CSP = `default-src 'none'; style-src ${sha256(CSS)}; script-src ${sha256(SCRIPT)}; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;

function endpointText(e: { ip: string; port: number; role: string; host?: string | undefined }): string {
  return `${e.ip}:${e.port} (${e.role}${e.host !== undefined ? ` ${e.host}` : ''})`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export class HtmlWriter implements ReportWriter {
  private header: ReportHeader | undefined;
  private readonly arrows = new Map<string, Arrow>();
  private arrowsLeftOut = 0;
  private flowsLeftOut = 0;
  private readonly rowCounts = new Map<string, RowCount>();
  private violatingWithoutRow = 0;
  private readonly findings: FindingRow[] = [];
  private keptViolations = 0;
  private keptWarnings = 0;
  private moreViolations = 0;
  private moreWarnings = 0;
  private first = Infinity;
  private last = -Infinity;

  constructor(
    private readonly sink: Sink,
    private readonly rules: RuleSet,
    private readonly maxRows: number,
    private readonly maxArrows: number = MAX_ARROWS,
  ) {
    for (const row of rules.rows) this.rowCounts.set(row.id, { ok: 0, warnings: 0, violated: 0 });
  }

  begin(header: ReportHeader): void {
    this.header = header;
  }

  flow(flow: JudgedFlow): void {
    if (flow.start < this.first) this.first = flow.start;
    if (flow.end > this.last) this.last = flow.end;
    this.addArrow(flow);
    this.addRow(flow);
    for (const f of flow.findings) {
      const violation = f.severity === 'violation';
      if ((violation ? this.keptViolations : this.keptWarnings) >= this.maxRows) {
        if (violation) this.moreViolations++;
        else this.moreWarnings++;
        continue;
      }
      if (violation) this.keptViolations++;
      else this.keptWarnings++;
      this.findings.push({
        time: flow.start,
        severity: f.severity,
        code: f.code,
        client: endpointText(flow.client),
        server: endpointText(flow.server),
        evidence: evidence(flow),
        reason: f.message,
      });
    }
  }

  private addRow(flow: JudgedFlow): void {
    const violates = flow.findings.some((f) => f.severity === 'violation');
    const warns = flow.findings.some((f) => f.severity === 'warning');
    if (violates && flow.targets.length === 0) this.violatingWithoutRow++;
    for (const id of flow.targets) {
      const c = this.rowCounts.get(id);
      if (!c) continue;
      if (violates) c.violated++;
      else if (warns) c.warnings++;
      else c.ok++;
    }
  }

  private arrowState(a: Arrow): ArrowState {
    if (a.verdicts.has('violation')) return 'violation';
    if (a.verdicts.has('warning')) return 'warning';
    if (a.verdicts.has('allowed')) return 'allowed';
    return 'other';
  }

  private addArrow(flow: JudgedFlow): void {
    const key = `${flow.transport}|${flow.client.role}|${flow.client.ip}|${flow.server.role}|${flow.server.ip}|${flow.server.port}|${flow.service}`;
    let a = this.arrows.get(key);
    if (!a) {
      if (this.arrows.size >= this.maxArrows) {
        // Full: a violation displaces the least important arrow (other, then allowed; fewest flows).
        let victim: Arrow | undefined;
        if (flow.verdict === 'violation') {
          for (const c of this.arrows.values()) {
            const rank = STATE_RANK[this.arrowState(c)];
            if (rank >= STATE_RANK.violation) continue;
            if (!victim || rank < STATE_RANK[this.arrowState(victim)] || (rank === STATE_RANK[this.arrowState(victim)] && c.flows < victim.flows)) victim = c;
          }
        }
        if (!victim) {
          this.arrowsLeftOut++;
          this.flowsLeftOut++;
          return;
        }
        this.arrows.delete(victim.key);
        this.arrowsLeftOut++;
        this.flowsLeftOut += victim.flows;
      }
      a = {
        key,
        transport: flow.transport,
        client: { ip: flow.client.ip, role: flow.client.role, host: flow.client.host },
        server: { ip: flow.server.ip, role: flow.server.role, host: flow.server.host },
        port: flow.server.port,
        label: flow.transport === 'tcp' || flow.transport === 'udp' ? `${flow.server.port}/${flow.service}` : portLabel(flow),
        service: flow.service,
        flows: 0,
        bytes: 0,
        verdicts: new Map(),
        codes: new Set(),
        rules: new Set(),
        samples: [],
      };
      this.arrows.set(key, a);
    }
    a.flows++;
    a.bytes += flow.bytes;
    a.verdicts.set(flow.verdict, (a.verdicts.get(flow.verdict) ?? 0) + 1);
    for (const f of flow.findings) if (a.codes.size < 16) a.codes.add(f.code);
    const rule = flow.rule ?? flow.scope;
    if (rule !== undefined && a.rules.size < 8) a.rules.add(rule);
    if (a.samples.length < FLOWS_PER_ARROW) {
      const codes = flow.findings.map((f) => f.code).join(', ');
      a.samples.push(
        escapeText(
          `#${flow.id} ${isoTime(flow.start)} ${flow.client.ip}:${flow.client.port} -> ${flow.server.ip}:${flow.server.port} ${flow.verdict}${codes ? ` [${codes}]` : ''} rule ${flow.rule ?? flow.scope ?? '-'}; ${evidence(flow)}; ${flow.packets} packets, ${flow.bytes} bytes`,
        ),
      );
    }
  }

  end(summary: RunSummary, captureFindings: CaptureFinding[]): void {
    const h = this.header;
    const out: string[] = [];
    const result = summary.exitCode === 1 ? 'VIOLATIONS' : summary.exitCode === 3 ? 'no violation, but the capture is incomplete' : 'compliant with the matrix';
    const title = `netmatrix: ${result}`;
    out.push(
      '<!DOCTYPE html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      '<meta name="referrer" content="no-referrer">',
      `<title>${htmlText(title)}</title>`,
      `<style>${CSS}</style>`,
      '</head>',
      '<body>',
      '<header>',
      `<h1>${htmlText(title)}</h1>`,
    );
    if (h) {
      out.push(
        `<div class="meta">Matrix <b>${htmlText(h.matrix.name)}</b> (${htmlText(h.matrix.title)}), phase ${htmlText(h.matrix.phase)}</div>`,
        `<div class="meta">Captures: ${h.files.map(htmlText).join(', ')}</div>`,
      );
    }
    out.push('</header>', '<main>');
    // Flow records: what this evidence cannot show, once, at the top.
    if (h?.evidence) out.push(`<section id="evidence"><h2>Limits of this evidence</h2><ul>${h.evidence.map((l) => `<li>${htmlText(l)}</li>`).join('')}</ul></section>`);
    out.push(...this.summarySection(summary));
    const { svg, data } = this.graph();
    out.push(
      '<section id="graph"><h2>Communication graph</h2>',
      '<div class="legend"><span><i class="lg-allowed"></i>allowed by a matrix row</span><span><i class="lg-violation"></i>violation</span><span><i class="lg-warning"></i>warning (allowed row, connection failed)</span><span><i class="lg-other"></i>out of scope / local / unknown</span></div>',
      '<p class="more">One arrow per client → server:port/service; hover or click an arrow for the flows behind it.</p>',
      `<div class="graphwrap">${svg}<aside id="details" aria-live="polite"><p class="more">Hover or click an arrow to list its flows.</p></aside></div>`,
    );
    if (this.arrowsLeftOut > 0) {
      out.push(`<p class="more" id="arrows-left-out">${plural(this.arrowsLeftOut, 'arrow')} (${plural(this.flowsLeftOut, 'flow')}) left out of the graph (at most ${this.maxArrows} arrows).</p>`);
    }
    out.push('</section>');
    out.push(...this.matrixSection(captureFindings));
    out.push(...this.findingsSection(summary, captureFindings));
    out.push(...this.runSection(summary));
    out.push(...this.hostsSection());
    out.push('</main>');
    out.push(`<script type="application/json" id="nm-data">${scriptJson(data)}</script>`);
    out.push(`<script>${SCRIPT}</script>`);
    out.push('</body>', '</html>', '');
    this.sink(out.join('\n'));
  }

  private summarySection(summary: RunSummary): string[] {
    const v = summary.verdicts;
    const out: string[] = ['<section id="summary"><h2>Summary</h2>'];
    const banner =
      summary.exitCode === 1 ? 'VIOLATIONS' : summary.exitCode === 3 ? 'no violation in what was read, but the capture is incomplete' : 'compliant with the matrix';
    out.push(`<div class="banner r${summary.exitCode}">Result: ${htmlText(banner)} (exit ${summary.exitCode})</div>`);
    out.push(
      `<p class="counts">${summary.frames} ${this.header?.evidence ? 'records' : 'packets'}, ${summary.flows} flows: ${v.allowed} allowed, ${v.violation} violating, ${v.warning} with warnings, ${v.local} local, ${v['out-of-scope']} out of scope; <b>${plural(summary.violations, 'violation')}</b>, ${plural(summary.warnings, 'warning')}.</p>`,
    );
    out.push(`<p>Capture time: ${htmlText(summary.start ?? '-')} to ${htmlText(summary.end ?? '-')}. ${summary.complete ? 'Every capture was read to its end.' : '<b>Incomplete</b>: the report covers only what was read before the damage.'}</p>`);
    const codes = Object.entries(summary.findings);
    if (codes.length > 0) out.push(`<p>Findings: ${codes.map(([c, n]) => `${htmlText(c)} ${n}`).join(', ')}</p>`);
    const notes: string[] = [];
    if (summary.decode.malformed > 0 || summary.decode.truncated > 0) notes.push(`decoder: ${summary.decode.malformed} malformed, ${summary.decode.truncated} truncated packets`);
    const encap = encapsulationLine(summary.decode.encapsulations);
    if (encap !== undefined) notes.push(encap);
    if (summary.flowTable.evicted > 0) notes.push(`flow table: ${summary.flowTable.evicted} flows evicted at --max-flows`);
    if (summary.decode.fragmentsEvicted > 0) notes.push(`ip fragments: ${summary.decode.fragmentsEvicted} incomplete datagrams evicted`);
    for (const i of summary.inputs) if (i.stopped) notes.push(`INCOMPLETE ${i.file}: ${i.stopped.message}`);
    if (notes.length > 0) out.push(`<ul>${notes.map((n) => `<li>${htmlText(n)}</li>`).join('')}</ul>`);
    out.push('</section>');
    return out;
  }

  private runSection(summary: RunSummary): string[] {
    const out: string[] = ['<section id="run"><h2>Captures and exit status</h2>'];
    out.push('<table><thead><tr><th>capture</th><th>format</th><th class="num">frames</th><th class="num">bytes</th><th>complete</th></tr></thead><tbody>');
    for (const i of summary.inputs) {
      out.push(`<tr><td>${htmlText(i.file)}</td><td>${htmlText(i.format)}</td><td class="num">${i.frames}</td><td class="num">${i.bytes}</td><td>${i.complete ? 'yes' : 'no'}</td></tr>`);
    }
    out.push('</tbody></table>');
    const exits: [number, string][] = [
      [0, 'no violation'],
      [1, 'at least one violation'],
      [2, 'usage, rules or unreadable input'],
      [3, 'no violation, but a capture was damaged or cut short'],
    ];
    out.push(`<p>Exit status:</p><ul class="exit">${exits.map(([c, t]) => `<li${c === summary.exitCode ? ' class="current"' : ''}>${c}: ${t}${c === summary.exitCode ? ' (this run)' : ''}</li>`).join('')}</ul>`);
    out.push('</section>');
    return out;
  }

  private graph(): { svg: string; data: { arrows: { label: string; summary: string; flows: string[]; more: number }[] } } {
    const arrows = [...this.arrows.values()];
    // Hosts: one box per role and address, from the arrows kept (so bounded by them).
    const columns = new Map<Role, Map<string, Endpoint>>();
    for (const a of arrows) {
      for (const e of [a.client, a.server]) {
        let col = columns.get(e.role);
        if (!col) columns.set(e.role, (col = new Map()));
        if (!col.has(e.ip)) col.set(e.ip, e);
      }
    }
    const boxW = 180;
    const boxH = 44;
    const gapY = 16;
    const gapX = 150;
    const top = 40;
    const left = 20;
    const used = ROLE_COLUMNS.filter((c) => columns.has(c.role));
    const pos = new Map<string, { x: number; y: number; col: number }>();
    let maxRows = 0;
    const parts: string[] = [];
    used.forEach((c, ci) => {
      const x = left + ci * (boxW + gapX);
      parts.push(`<text class="colhead" x="${x + boxW / 2}" y="22" text-anchor="middle">${htmlText(c.title)}</text>`);
      const hosts = [...(columns.get(c.role)?.values() ?? [])].sort((a, b) => (a.host ?? '~').localeCompare(b.host ?? '~') || a.ip.localeCompare(b.ip, undefined, { numeric: true }));
      maxRows = Math.max(maxRows, hosts.length);
      hosts.forEach((e, ri) => {
        const y = top + ri * (boxH + gapY);
        pos.set(`${e.role}|${e.ip}`, { x, y, col: ci });
        const sub = e.host !== undefined ? `${e.role} · ${e.host}` : e.role;
        parts.push(
          `<g class="box r-${htmlText(e.role)}" data-ip="${htmlText(e.ip)}" data-role="${htmlText(e.role)}"${e.host !== undefined ? ` data-host="${htmlText(e.host)}"` : ''}><title>${htmlText(`${e.ip} (${sub})`)}</title><rect x="${x}" y="${y}" width="${boxW}" height="${boxH}" rx="5"></rect><text class="ip" x="${x + 10}" y="${y + 18}">${htmlText(e.ip)}</text><text class="sub" x="${x + 10}" y="${y + 35}">${htmlText(sub)}</text></g>`,
        );
      });
    });
    // Arrows between the same two boxes are fanned out.
    const pairCount = new Map<string, number>();
    const pairIndex = new Map<string, number>();
    const pairOf = (a: Arrow): string => `${a.client.role}|${a.client.ip}>${a.server.role}|${a.server.ip}`;
    for (const a of arrows) pairCount.set(pairOf(a), (pairCount.get(pairOf(a)) ?? 0) + 1);
    // Draw the important ones last (on top).
    arrows.sort((a, b) => STATE_RANK[this.arrowState(a)] - STATE_RANK[this.arrowState(b)]);
    const edges: string[] = [];
    const data: { label: string; summary: string; flows: string[]; more: number }[] = [];
    arrows.forEach((a, i) => {
      const from = pos.get(`${a.client.role}|${a.client.ip}`);
      const to = pos.get(`${a.server.role}|${a.server.ip}`);
      if (!from || !to) return;
      const pair = pairOf(a);
      const n = pairCount.get(pair) ?? 1;
      const k = pairIndex.get(pair) ?? 0;
      pairIndex.set(pair, k + 1);
      const off = (k - (n - 1) / 2) * 18;
      const y1 = from.y + boxH / 2 + off;
      const y2 = to.y + boxH / 2 + off;
      let x1: number;
      let x2: number;
      let c1x: number;
      let c2x: number;
      if (from.col === to.col) {
        x1 = from.x + boxW;
        x2 = to.x + boxW;
        const bulge = 50 + Math.abs(y2 - y1) * 0.25 + k * 14;
        c1x = x1 + bulge;
        c2x = x2 + bulge;
      } else if (from.col < to.col) {
        x1 = from.x + boxW;
        x2 = to.x - 8;
        c1x = x1 + (x2 - x1) * 0.45;
        c2x = x2 - (x2 - x1) * 0.45;
      } else {
        x1 = from.x;
        x2 = to.x + boxW + 8;
        c1x = x1 - (x1 - x2) * 0.45;
        c2x = x2 + (x1 - x2) * 0.45;
      }
      const mx = (x1 + 3 * c1x + 3 * c2x + x2) / 8;
      const my = (y1 + 3 * y1 + 3 * y2 + y2) / 8;
      const d = `M${x1.toFixed(1)},${y1.toFixed(1)} C${c1x.toFixed(1)},${y1.toFixed(1)} ${c2x.toFixed(1)},${y2.toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}`;
      const state = this.arrowState(a);
      const verdicts = [...a.verdicts].map(([v, c]) => `${c} ${v}`).join(', ');
      const codes = [...a.codes].join(', ');
      const label = `${a.client.ip} (${a.client.role}${a.client.host !== undefined ? ` ${a.client.host}` : ''}) -> ${a.server.ip}:${a.port} (${a.server.role}${a.server.host !== undefined ? ` ${a.server.host}` : ''}) ${a.transport} ${a.service}`;
      const sum = `${plural(a.flows, 'flow')}, ${a.bytes} bytes: ${verdicts}${codes ? `; findings: ${codes}` : ''}${a.rules.size > 0 ? `; rule ${[...a.rules].join(', ')}` : ''}`;
      data.push({ label: escapeText(label), summary: escapeText(sum), flows: a.samples, more: a.flows - a.samples.length });
      const idx = data.length - 1;
      edges.push(
        `<g class="edge ${state}" tabindex="0" role="button" data-arrow="${idx}" data-transport="${a.transport}" data-client="${htmlText(a.client.ip)}" data-server="${htmlText(a.server.ip)}" data-port="${a.port}" data-service="${htmlText(a.service)}" data-flows="${a.flows}" data-state="${state}"><title>${htmlText(`${label}: ${sum}`)}</title><path class="hit" d="${d}"></path><path class="line" d="${d}" marker-end="url(#arrow-${state})"></path><text x="${mx.toFixed(1)}" y="${(my - 4).toFixed(1)}" text-anchor="middle">${htmlText(a.label)}</text></g>`,
      );
      void i;
    });
    const loops = arrows.some((a) => a.client.role === a.server.role && a.client.ip !== a.server.ip);
    const width = Math.max(1, used.length) * boxW + Math.max(0, used.length - 1) * gapX + left * 2 + (loops ? 90 : 0);
    const height = top + Math.max(1, maxRows) * (boxH + gapY) + 20;
    const markers = (['allowed', 'violation', 'warning', 'other'] as const)
      .map((s) => {
        const color = s === 'allowed' ? '#2e7d32' : s === 'violation' ? '#c62828' : s === 'warning' ? '#b26a00' : '#8a8f98';
        return `<marker id="arrow-${s}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${color}"></path></marker>`;
      })
      .join('');
    const empty = arrows.length === 0 ? `<text x="20" y="60">no TCP or UDP flows in the capture</text>` : '';
    const svg = `<svg id="comm-graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" role="img" aria-label="communication graph"><defs>${markers}</defs>${parts.join('')}${edges.join('')}${empty}</svg>`;
    return { svg, data: { arrows: data } };
  }

  private matrixSection(captureFindings: CaptureFinding[]): string[] {
    const missing = new Set(captureFindings.filter((f) => f.code === 'mandatory-missing').map((f) => f.rule));
    const out: string[] = [
      '<section id="matrix"><h2>Communication matrix</h2>',
      `<p>Rule set ${htmlText(this.rules.name)}: ${htmlText(this.rules.title)} (phase ${htmlText(this.rules.phase)}). A row is <span class="state violated">violated</span> when flows on its ports toward its roles had violations, <span class="state seen">seen</span> when the flows it matched were all fine, <span class="state not-seen">not seen</span> otherwise.</p>`,
      '<table><thead><tr><th>id</th><th>from</th><th>to</th><th>transport/ports</th><th>service</th><th>type</th><th>status</th><th>comment</th><th>state</th><th class="num">flows ok</th><th class="num">warnings</th><th class="num">violating</th></tr></thead><tbody>',
    ];
    for (const row of this.rules.rows) {
      const c = this.rowCounts.get(row.id) ?? { ok: 0, warnings: 0, violated: 0 };
      const state = c.violated > 0 ? 'violated' : c.ok + c.warnings > 0 ? 'seen' : 'not-seen';
      const classes = [`row-${state}`];
      if (missing.has(row.id)) classes.push('mandatory-missing');
      const transport = `${row.transport.map((t) => t.toUpperCase()).join('/')}/${formatPorts(row.ports)}${row.via === 'tunnel' ? ' (in tunnel)' : ''}`;
      const service = `${row.service.join(', ')}${row.alpn ? ` (ALPN ${row.alpn.join(', ')})` : ''}`;
      const cells = [row.id, row.from.join(', '), row.to.join(', '), transport, service, row.type, row.status, row.comment ?? ''].map((x) => `<td>${htmlText(x)}</td>`);
      out.push(
        `<tr class="${classes.join(' ')}" data-rule="${htmlText(row.id)}" data-state="${state}">${cells.join('')}<td><span class="state ${state}">${state.replace('-', ' ')}</span></td><td class="num">${c.ok}</td><td class="num">${c.warnings}</td><td class="num">${c.violated}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
    if (this.violatingWithoutRow > 0) out.push(`<p>${plural(this.violatingWithoutRow, 'violating flow')} matched no row of the matrix (not-in-matrix, outside-tunnel, inbound-to-node).</p>`);
    out.push('</section>');
    return out;
  }

  private findingsSection(summary: RunSummary, captureFindings: CaptureFinding[]): string[] {
    const out: string[] = ['<section id="findings"><h2>Findings timeline</h2>'];
    out.push(this.timeline());
    const table = (sev: 'violation' | 'warning', heading: string, more: number, extra: CaptureFinding[]): void => {
      const rows = this.findings.filter((f) => f.severity === sev);
      const extraRows = extra.filter((f) => f.severity === sev);
      out.push(`<h2 class="${sev}s" id="${sev}s">${heading}</h2>`);
      if (rows.length + extraRows.length === 0) {
        out.push('<p>None.</p>');
        return;
      }
      out.push('<table><thead><tr><th>time</th><th>code</th><th>client</th><th>server</th><th>evidence</th><th>reason</th></tr></thead><tbody>');
      for (const r of rows) {
        out.push(
          `<tr class="sev-${sev}" data-code="${htmlText(r.code)}"><td>${htmlText(isoTime(r.time))}</td><td class="code">${htmlText(r.code)}</td><td>${htmlText(r.client)}</td><td>${htmlText(r.server)}</td><td class="ev">${htmlText(r.evidence)}</td><td class="reason">${htmlText(r.reason)}</td></tr>`,
        );
      }
      for (const f of extraRows) {
        out.push(`<tr class="sev-${sev}" data-code="${htmlText(f.code)}"><td>(capture)</td><td class="code">${htmlText(f.code)}</td><td></td><td></td><td class="ev">rule ${htmlText(f.rule)}</td><td class="reason">${htmlText(f.message)}</td></tr>`);
      }
      out.push('</tbody></table>');
      if (more > 0) out.push(`<p class="more">... and ${more} more (use --format json for all of them, or raise --max-rows)</p>`);
    };
    table('violation', `Violations (${summary.violations})`, this.moreViolations, captureFindings);
    table('warning', `Warnings (${summary.warnings})`, this.moreWarnings, captureFindings);
    out.push('</section>');
    return out;
  }

  private timeline(): string {
    const W = 1000;
    const H = 90;
    const pad = 90;
    if (this.findings.length === 0 || !Number.isFinite(this.first)) {
      return '<p>No finding tied to a flow: nothing to place on the timeline.</p>';
    }
    const t0 = this.first;
    const t1 = Math.max(this.last, t0);
    const span = t1 - t0;
    const xOf = (t: number): number => pad + (span > 0 ? ((t - t0) / span) * (W - 2 * pad) : (W - 2 * pad) / 2);
    const lane = { violation: 30, warning: 55 };
    const parts: string[] = [
      `<line class="axis" x1="${pad}" y1="70" x2="${W - pad}" y2="70"></line>`,
      `<text x="${pad}" y="86">${htmlText(isoTime(t0))}</text>`,
      `<text x="${W - pad}" y="86" text-anchor="end">${htmlText(isoTime(t1))} (+${span.toFixed(3)} s)</text>`,
      `<text x="4" y="${lane.violation + 4}">violations</text><text x="4" y="${lane.warning + 4}">warnings</text>`,
    ];
    for (let i = 1; i < 4; i++) {
      const x = pad + (i / 4) * (W - 2 * pad);
      parts.push(`<line class="axis" x1="${x}" y1="66" x2="${x}" y2="74"></line>`);
    }
    for (const f of this.findings) {
      const x = xOf(f.time);
      parts.push(
        `<circle class="${f.severity}" data-code="${htmlText(f.code)}" cx="${x.toFixed(1)}" cy="${lane[f.severity]}" r="5"><title>${htmlText(`${isoTime(f.time)} ${f.severity} ${f.code}: ${f.client} -> ${f.server}; ${f.evidence}`)}</title></circle>`,
      );
    }
    return `<svg class="timeline" id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="findings timeline">${parts.join('')}</svg>`;
  }

  private hostsSection(): string[] {
    const h = this.header;
    if (!h) return [];
    const out: string[] = ['<section id="inventory"><h2>Inventory</h2><table><thead><tr><th>host</th><th>role</th><th>addresses</th></tr></thead><tbody>'];
    for (const host of h.inventory.hosts) {
      out.push(`<tr><td>${htmlText(host.name)}</td><td>${htmlText(host.role)}</td><td>${host.addresses.map(htmlText).join(', ')}</td></tr>`);
    }
    out.push('</tbody></table>');
    if (h.inventory.tunnel.length > 0) out.push(`<p>Tunnel: ${h.inventory.tunnel.map(htmlText).join(', ')}</p>`);
    out.push('</section>');
    return out;
  }
}
