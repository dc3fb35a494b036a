/**
 * --format markdown: a summary fit for a CI job's summary page (GitHub-flavoured tables). Strings from
 * packets are data: control characters are escaped, and Markdown/HTML syntax (| ` * _ [ ] < > &) is
 * neutralised so a crafted SNI cannot add links, images or HTML to the page.
 */
import type { CaptureFinding, JudgedFlow } from '../policy/judge.js';
import { escapeText } from './escape.js';
import type { ReportHeader, RunSummary } from './model.js';
import { evidence } from './table.js';
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

interface Group {
  path: string;
  port: string;
  service: string;
  rule: string;
  verdict: string;
  flows: number;
  bytes: number;
}

export class MarkdownWriter implements ReportWriter {
  private header: ReportHeader | undefined;
  private readonly groups = new Map<string, Group>();
  private readonly rows: string[] = [];
  private more = 0;

  constructor(
    private readonly sink: Sink,
    private readonly maxRows: number,
  ) {}

  begin(header: ReportHeader): void {
    this.header = header;
  }

  flow(flow: JudgedFlow): void {
    const rule = flow.rule ?? flow.scope ?? '-';
    const key = `${flow.client.role}|${flow.server.role}|${flow.transport}/${flow.server.port}|${flow.service}|${rule}|${flow.verdict}`;
    const g = this.groups.get(key);
    if (g) {
      g.flows++;
      g.bytes += flow.bytes;
    } else if (this.groups.size < this.maxRows * 4) {
      this.groups.set(key, {
        path: `${flow.client.role} → ${flow.server.role}`,
        port: `${flow.transport}/${flow.server.port}`,
        service: flow.service,
        rule,
        verdict: flow.verdict,
        flows: 1,
        bytes: flow.bytes,
      });
    }
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
    }
    out.push(
      `${summary.frames} packets, ${summary.flows} flows: ${summary.verdicts.allowed} allowed, ${summary.verdicts.violation} violating, ${summary.verdicts.warning} with warnings, ${summary.verdicts.local} local, ${summary.verdicts['out-of-scope']} out of scope; **${summary.violations} violations**, ${summary.warnings} warnings.`,
      '',
    );
    out.push('| client → server | port | service | rule | verdict | flows | bytes |', '| --- | --- | --- | --- | --- | ---: | ---: |');
    for (const g of this.groups.values()) {
      out.push(`| ${[g.path, g.port, g.service, g.rule, g.verdict].map(mdCell).join(' | ')} | ${g.flows} | ${g.bytes} |`);
    }
    const capRows = captureFindings.map((f) => `| | ${mdCell(f.severity)} | ${mdCell(f.code)} | | | rule ${mdCell(f.rule)} | ${mdCell(f.message)} |`);
    if (this.rows.length + capRows.length > 0) {
      out.push('', '### Findings', '', '| time | severity | code | client | server | evidence | reason |', '| --- | --- | --- | --- | --- | --- | --- |');
      out.push(...this.rows, ...capRows);
      if (this.more > 0) out.push('', `… and ${this.more} more (see the JSON report).`);
    }
    for (const i of summary.inputs) if (i.stopped) out.push('', `⚠️ incomplete: ${mdCell(i.stopped.message)}`);
    out.push('');
    this.sink(out.join('\n'));
  }
}
