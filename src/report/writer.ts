import type { CaptureFinding, JudgedFlow } from '../policy/judge.js';
import type { ReportHeader, RunSummary } from './summary.js';

/** Where report text goes (stdout, a file): called with pieces, in order. */
export type Sink = (text: string) => void;

/** Every output format: flows stream in as they end, the summary comes last. */
export interface ReportWriter {
  begin(header: ReportHeader): void;
  flow(flow: JudgedFlow): void;
  end(summary: RunSummary, captureFindings: CaptureFinding[]): void;
}
