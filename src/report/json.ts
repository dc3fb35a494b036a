/**
 * JSON (one document) and JSONL (one record per line), both streamed: a flow is written when it ends.
 * Document: {"matrix", "inventory", "files", "flows": [...], "captureFindings", "complete", "summary"}.
 * Lines: {"record":"header",...}, {"record":"flow",...}..., {"record":"finding",...}..., {"record":"summary",...}.
 */
import type { CaptureFinding, JudgedFlow } from '../policy/judge.js';
import { safeJson } from './escape.js';
import { flowRecord, type ReportHeader, type RunSummary } from './model.js';
import type { ReportWriter, Sink } from './writer.js';

export class JsonWriter implements ReportWriter {
  private first = true;
  constructor(private readonly sink: Sink) {}

  begin(header: ReportHeader): void {
    this.sink(
      `{"matrix":${safeJson(header.matrix)},\n"inventory":${safeJson(header.inventory)},\n"files":${safeJson(header.files)},\n"flows":[`,
    );
  }

  flow(flow: JudgedFlow): void {
    this.sink(`${this.first ? '\n' : ',\n'}${safeJson(flowRecord(flow))}`);
    this.first = false;
  }

  end(summary: RunSummary, captureFindings: CaptureFinding[]): void {
    this.sink(
      `\n],\n"captureFindings":${safeJson(captureFindings)},\n"complete":${summary.complete},\n"summary":${safeJson(summary)}}\n`,
    );
  }
}

export class JsonlWriter implements ReportWriter {
  constructor(private readonly sink: Sink) {}

  begin(header: ReportHeader): void {
    this.sink(`${safeJson({ record: 'header', ...header })}\n`);
  }

  flow(flow: JudgedFlow): void {
    this.sink(`${safeJson({ record: 'flow', ...flowRecord(flow) })}\n`);
  }

  end(summary: RunSummary, captureFindings: CaptureFinding[]): void {
    for (const f of captureFindings) this.sink(`${safeJson({ record: 'finding', ...f })}\n`);
    this.sink(`${safeJson({ record: 'summary', ...summary })}\n`);
  }
}
