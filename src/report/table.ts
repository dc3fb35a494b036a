/**
 * The terminal report: flows grouped by client role -> server role, port, service and verdict; then
 * every violation and warning with its time, endpoints, evidence and reason; then the summary. Every
 * cell is escaped (strings from packets are data).
 */
import Table from 'cli-table3';
import type { CaptureFinding, JudgedFlow } from '../policy/judge.js';
import { escapeText } from './escape.js';
import { drawGrid } from './grid.js';
import { FlowGroups, type ReportHeader, type RunSummary } from './summary.js';
import { isoTime } from './time.js';
import type { ReportWriter, Sink } from './writer.js';

export interface TableOptions {
  /** ANSI colours (only when writing to a terminal). */
  color: boolean;
  /** Rows listed at most per section; the rest are counted. */
  maxRows: number;
  /** Terminal width: long cells wrap to fit it. Undefined: no limit (files, pipes). */
  width?: number;
}

interface Layout {
  head: string[];
  colWidths?: number[];
}

interface Row {
  time: string;
  code: string;
  client: string;
  server: string;
  evidence: string;
  reason: string;
}

/**
 * SNI, ALPN, HTTP Host and request line: what a reviewer needs to recognise the traffic; and, for a
 * flow that came through encapsulations, which ones (`via vlan/mpls`).
 */
export function evidence(flow: JudgedFlow): string {
  const parts: string[] = [];
  if (flow.tls) {
    parts.push(`tls ${flow.tls.version}`);
    if (flow.tls.sni !== undefined) parts.push(`sni=${flow.tls.sni}`);
    if (flow.tls.alpn.length > 0) parts.push(`alpn=${flow.tls.alpn.join(',')}`);
  }
  if (flow.http) {
    parts.push(`${flow.http.method} ${flow.http.target}`);
    if (flow.http.host !== undefined) parts.push(`host=${flow.http.host}`);
  }
  if (flow.wireguard) parts.push(`wireguard types ${flow.wireguard.join(',')}`);
  if (parts.length === 0) parts.push(`${flow.service} (by ${flow.serviceBy})`);
  parts.push(flow.state);
  if (flow.encapsulation !== undefined) parts.push(`via ${flow.encapsulation.join('/')}`);
  return parts.join(' ');
}

/** summary.decode.encapsulations as one line ("encapsulated packets: vlan 40, gtp 12"), or undefined when there were none. */
export function encapsulationLine(encapsulations: Record<string, number> | undefined): string | undefined {
  if (encapsulations === undefined) return undefined;
  return `encapsulated packets: ${Object.entries(encapsulations)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ')}`;
}

const COLORS = { red: '\u001b[31m', yellow: '\u001b[33m', green: '\u001b[32m', bold: '\u001b[1m', reset: '\u001b[0m' };

export class TableWriter implements ReportWriter {
  private readonly groups: FlowGroups;
  private readonly violations: Row[] = [];
  private readonly warnings: Row[] = [];
  private moreViolations = 0;
  private moreWarnings = 0;
  private header: ReportHeader | undefined;

  constructor(
    private readonly sink: Sink,
    private readonly opts: TableOptions,
  ) {
    this.groups = new FlowGroups(opts.maxRows * 4);
  }

  private paint(color: keyof typeof COLORS, text: string): string {
    return this.opts.color ? `${COLORS[color]}${text}${COLORS.reset}` : text;
  }

  /**
   * Head and column widths of a table. `fixed`: widths of the leading columns that never wrap; the
   * remaining columns share what is left of the terminal width.
   */
  private layout(head: string[], fixed?: number[]): Layout {
    let colWidths: number[] | undefined;
    if (fixed && this.opts.width !== undefined) {
      const flexible = head.length - fixed.length;
      const used = fixed.reduce((n, w) => n + w, 0) + head.length + 1;
      const each = Math.max(16, Math.floor((this.opts.width - used) / flexible));
      colWidths = [...fixed, ...new Array<number>(flexible).fill(each)];
    }
    // Cells wrap (wrapOnWordBoundary: false) by raw string length, escape codes included: a bold
    // header that only just fits ("evidence" in a 16-column cell) would be cut inside its reset code
    // and send a broken CSI to the terminal. Bold only the headers whose codes fit.
    const bold = head.map((h, i) => {
      const width = colWidths?.[i];
      const fits = width === undefined || h.length + COLORS.bold.length + COLORS.reset.length <= width - 2;
      return this.opts.color && fits ? `${COLORS.bold}${h}${COLORS.reset}` : h;
    });
    return colWidths ? { head: bold, colWidths } : { head: bold };
  }

  /** The table drawn; cli-table3 draws the tables with cells of other widths (see grid.ts). */
  private draw(layout: Layout, rows: string[][]): string {
    const fast = drawGrid(layout.head, rows, layout.colWidths);
    if (fast !== undefined) return fast;
    const options: Table.TableConstructorOptions = {
      head: layout.head,
      style: { head: [], border: [], compact: false },
      wordWrap: true,
      wrapOnWordBoundary: false,
    };
    if (layout.colWidths) options.colWidths = layout.colWidths;
    const table = new Table(options);
    for (const r of rows) table.push(r);
    return table.toString();
  }

  begin(header: ReportHeader): void {
    this.header = header;
  }

  flow(flow: JudgedFlow): void {
    this.groups.add(flow);
    for (const f of flow.findings) {
      const list = f.severity === 'violation' ? this.violations : this.warnings;
      if (list.length >= this.opts.maxRows) {
        if (f.severity === 'violation') this.moreViolations++;
        else this.moreWarnings++;
        continue;
      }
      list.push({
        time: isoTime(flow.start),
        code: f.code,
        client: `${flow.client.ip}:${flow.client.port} (${flow.client.role})`,
        server: `${flow.server.ip}:${flow.server.port} (${flow.server.role})`,
        evidence: evidence(flow),
        reason: f.message,
      });
    }
  }

  end(summary: RunSummary, captureFindings: CaptureFinding[]): void {
    const out: string[] = [];
    const h = this.header;
    if (h) {
      // Escaped like every other cell: capture names come from the shell (a rotated set copied off a
      // compromised machine can name its files with escape sequences), the title from a rules file.
      out.push(escapeText(`netmatrix: matrix ${h.matrix.name} (${h.matrix.title}), phase ${h.matrix.phase}`));
      out.push(escapeText(`captures: ${h.files.join(', ')}`));
      // Flow records: what this evidence cannot show, once, before anything else is read.
      if (h.evidence) for (const line of h.evidence) out.push(escapeText(`limits: ${line}`));
    }
    out.push('');
    const flows: string[][] = [];
    const verdictColor = (v: string): string =>
      v === 'violation' ? this.paint('red', v) : v === 'warning' ? this.paint('yellow', v) : v === 'allowed' ? this.paint('green', v) : v;
    const sorted = this.groups.sorted();
    for (const g of sorted) {
      flows.push(
        [`${g.clientRole} -> ${g.serverRole}`, g.port, g.service, g.rule, verdictColor(g.verdict), String(g.flows), String(g.bytes)].map((c, i) =>
          i === 4 ? c : escapeText(c),
        ),
      );
    }
    const over = this.groups.overflow;
    if (over.flows > 0) flows.push(['(more groups)', '', '', '', '', String(over.flows), String(over.bytes)]);
    out.push(
      sorted.length > 0
        ? this.draw(this.layout(['client -> server', 'port', 'service', 'rule', 'verdict', 'flows', 'bytes']), flows)
        : 'no TCP or UDP flows in the capture',
    );

    const section = (title: string, rows: Row[], more: number, color: 'red' | 'yellow'): void => {
      if (rows.length === 0) return;
      out.push('', this.paint(color, title));
      const cells = rows.map((r) => [r.time, r.code, r.client, r.server, r.evidence, r.reason].map(escapeText));
      out.push(this.draw(this.layout(['time', 'code', 'client', 'server', 'evidence', 'reason'], [29, 19, 24, 24]), cells));
      if (more > 0) out.push(`... and ${more} more (use --format json for all of them, or raise --max-rows)`);
    };
    section(`Violations (${summary.violations})`, this.violations, this.moreViolations, 'red');
    const captureRows: Row[] = captureFindings.map((f) => ({ time: '', code: f.code, client: '', server: '', evidence: `rule ${f.rule}`, reason: f.message }));
    section(`Warnings (${summary.warnings})`, [...this.warnings, ...captureRows], this.moreWarnings, 'yellow');

    out.push('');
    const v = summary.verdicts;
    out.push(
      `${summary.frames} ${h?.evidence ? 'records' : 'packets'}, ${summary.flows} flows (${v.allowed} allowed, ${v.violation} violating, ${v.warning} with warnings, ${v.local} local, ${v['out-of-scope']} out of scope); ${summary.violations} violations, ${summary.warnings} warnings`,
    );
    if (summary.decode.malformed > 0 || summary.decode.truncated > 0) {
      out.push(`decoder: ${summary.decode.malformed} malformed, ${summary.decode.truncated} truncated packets (see --format json summary.decode.weirds)`);
    }
    const encap = encapsulationLine(summary.decode.encapsulations);
    if (encap !== undefined) out.push(encap);
    if (summary.flowTable.evicted > 0) out.push(`flow table: ${summary.flowTable.evicted} flows evicted at --max-flows`);
    // Hitting the fragment reassembly bound loses datagrams: the table says so, as the JSON summary does.
    if (summary.decode.fragmentsEvicted > 0) {
      out.push(`ip fragments: ${summary.decode.fragmentsEvicted} incomplete datagrams evicted at the reassembly memory bound`);
    }
    for (const i of summary.inputs) {
      if (i.stopped) out.push(this.paint('yellow', `INCOMPLETE: ${escapeText(i.stopped.message)}`));
    }
    const verdict =
      summary.exitCode === 1
        ? this.paint('red', 'RESULT: VIOLATIONS')
        : summary.exitCode === 3
          ? this.paint('yellow', 'RESULT: no violation in what was read, but the capture is incomplete')
          : this.paint('green', 'RESULT: compliant with the matrix');
    out.push(verdict, '');
    this.sink(out.join('\n'));
  }
}
