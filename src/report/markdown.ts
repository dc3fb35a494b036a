/**
 * --format markdown: a summary fit for a CI job's summary page (GitHub-flavoured tables). Strings from
 * packets are data: control characters are escaped, and Markdown/HTML syntax (| ` * _ [ ] < > &) is
 * neutralised so a crafted SNI cannot add links, images or HTML to the page.
 */
import type { CaptureFinding, JudgedFlow } from '../policy/judge.js';
import { escapeText } from './escape.js';
import { FlowGroups, type ReportHeader, type RunSummary } from './summary.js';
import { encapsulationLine, evidence } from './table.js';
import { isoTime } from './time.js';
import type { ReportWriter, Sink } from './writer.js';

/** One table cell: escaped for terminals first, then for Markdown and HTML. */
export function mdCell(s: string): string {
  return escapeText(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([|`*_[\]~])/g, '\\$1');
}

export class MarkdownWriter implements ReportWriter {
  private header: ReportHeader | undefined;
  private readonly groups: FlowGroups;
  private readonly rows: string[] = [];
  private more = 0;

  constructor(
    private readonly sink: Sink,
    private readonly maxRows: number,
  ) {
    this.groups = new FlowGroups(maxRows * 4);
  }

  begin(header: ReportHeader): void {
    this.header = header;
  }

  flow(flow: JudgedFlow): void {
    this.groups.add(flow);
    for (const f of flow.findings) {
      if (this.rows.length >= this.maxRows) {
        this.more++;
        continue;
      }
      const cells = [
        isoTime(flow.start),
        f.severity,
        f.code,
        `${flow.client.ip}:${flow.client.port} (${flow.client.role})`,
        `${flow.server.ip}:${flow.server.port} (${flow.server.role})`,
        evidence(flow),
        f.message,
      ];
      this.rows.push(`| ${cells.map(mdCell).join(' | ')} |`);
    }
  }

  end(summary: RunSummary, captureFindings: CaptureFinding[]): void {
    const h = this.header;
    const out: string[] = [];
    const result =
      summary.exitCode === 1 ? '❌ violations' : summary.exitCode === 3 ? '⚠️ no violation, but the capture is incomplete' : '✅ compliant';
    out.push(`## netmatrix: ${result}`, '');
    if (h) {
      out.push(`Matrix **${mdCell(h.matrix.name)}** (${mdCell(h.matrix.title)}), phase ${mdCell(h.matrix.phase)}; captures: ${h.files.map(mdCell).join(', ')}`, '');
      if (h.evidence) out.push('**Limits of this evidence**', '', ...h.evidence.map((l) => `- ${mdCell(l)}`), '');
    }
    out.push(
      `${summary.frames} ${h?.evidence ? 'records' : 'packets'}, ${summary.flows} flows: ${summary.verdicts.allowed} allowed, ${summary.verdicts.violation} violating, ${summary.verdicts.warning} with warnings, ${summary.verdicts.local} local, ${summary.verdicts['out-of-scope']} out of scope; **${summary.violations} violations**, ${summary.warnings} warnings.`,
      '',
    );
    out.push('| client → server | port | service | rule | verdict | flows | bytes |', '| --- | --- | --- | --- | --- | ---: | ---: |');
    for (const g of this.groups.sorted()) {
      out.push(`| ${[`${g.clientRole} → ${g.serverRole}`, g.port, g.service, g.rule, g.verdict].map(mdCell).join(' | ')} | ${g.flows} | ${g.bytes} |`);
    }
    const over = this.groups.overflow;
    if (over.flows > 0) out.push(`| (more groups) | | | | | ${over.flows} | ${over.bytes} |`);
    const capRows = captureFindings.map((f) => `| | ${mdCell(f.severity)} | ${mdCell(f.code)} | | | rule ${mdCell(f.rule)} | ${mdCell(f.message)} |`);
    if (this.rows.length + capRows.length > 0) {
      out.push('', '### Findings', '', '| time | severity | code | client | server | evidence | reason |', '| --- | --- | --- | --- | --- | --- | --- |');
      out.push(...this.rows, ...capRows);
      if (this.more > 0) out.push('', `… and ${this.more} more (see the JSON report).`);
    }
    const encap = encapsulationLine(summary.decode.encapsulations);
    if (encap !== undefined) out.push('', mdCell(encap));
    for (const i of summary.inputs) if (i.stopped) out.push('', `⚠️ incomplete: ${mdCell(i.stopped.message)}`);
    out.push('');
    this.sink(out.join('\n'));
  }
}
