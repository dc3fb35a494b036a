/**
 * The analysis pipeline: capture -> decode -> flow -> classify -> policy. Streams: judged flows are
 * handed to `onFlow` as they end, so memory follows the live flows, not the size of the files.
 * Several files are one run: flows continue across them (a rotated set, or a.pcap b.pcap).
 */
import { readCaptureFile, type ReadSummary } from '../capture/file.js';
import type { RawFrame } from '../capture/frame.js';
import { frameTime } from '../capture/frame.js';
import { linkTypeName } from '../capture/linktypes.js';
import type { DecoderStats } from '../decode/decoder.js';
import { isSupportedLinkType } from '../decode/link.js';
import { CaptureError } from '../model/errors.js';
import { Engine } from './engine.js';
import { InputPacedCollector } from './memory.js';
import type { FlowTableOptions, FlowTableStats } from '../flow/table.js';
import type { Inventory } from '../policy/inventory.js';
import type { CaptureFinding, JudgedFlow } from '../policy/judge.js';
import type { RuleSet } from '../policy/load.js';

export interface AnalyzeOptions {
  files: string[];
  rules: RuleSet;
  inventory: Inventory;
  flow?: Partial<Omit<FlowTableOptions, 'isServicePort'>>;
  /** Bytes of IP fragments buffered at most. */
  fragmentBytes?: number;
  /** Seconds a secagg session may last (see Judge). */
  secaggTimeout?: number;
  onFlow: (flow: JudgedFlow) => void;
  /** Called at most once per chunk read, with bytes done and total over all files. */
  onProgress?: (done: number, total: number) => void;
  /** A note for the user (damage, skipped interfaces); the CLI prints these on stderr. */
  onWarning?: (message: string) => void;
}

/** One input file as the summary shows it (a capture's ReadSummary, or a record file's). */
export interface InputSummary {
  file: string;
  format: string;
  /** Frames (captures) or records (flow records) read. */
  frames: number;
  bytesRead: number;
  complete: boolean;
  stopped?: { code: string; offset?: number | undefined; message: string } | undefined;
}

export interface AnalysisResult {
  inputs: InputSummary[];
  /** False when any file was damaged or cut short: the report covers only what was read. */
  complete: boolean;
  frames: number;
  decoder: DecoderStats;
  flows: FlowTableStats;
  captureFindings: CaptureFinding[];
  /** Capture time span (seconds since the epoch), undefined for an empty capture. */
  first: number | undefined;
  last: number | undefined;
}

class StopPeek extends Error {}

/** Unsupported-interface warnings printed per file; the rest are counted in one line. */
const MAX_INTERFACE_WARNINGS = 20;

interface Peek {
  file: string;
  linkType: number | undefined;
  firstTs: number | undefined;
  size: number;
}

/** Reads a file's first interface and first timestamp, without reading the rest. */
function peek(file: string): Peek {
  const result: Peek = { file, linkType: undefined, firstTs: undefined, size: 0 };
  try {
    // The size comes from the reader's first progress report: the read stops at the first frame, so
    // its summary (which also has the size) never comes back.
    readCaptureFile(
      file,
      (frame) => {
        result.firstTs = frameTime(frame);
        throw new StopPeek();
      },
      {
        chunkSize: 64 * 1024,
        onInterface: (linkType) => {
          result.linkType ??= linkType;
        },
        onProgress: (_read, fileSize) => {
          result.size = fileSize;
        },
      },
    );
  } catch (err) {
    if (!(err instanceof StopPeek)) throw err;
  }
  return result;
}

export function analyzeCaptures(opts: AnalyzeOptions): AnalysisResult {
  // Check every file before reading any: a wrong file is an error before anything is judged.
  const peeks = opts.files.map(peek);
  for (const p of peeks) {
    if (p.linkType !== undefined && !isSupportedLinkType(p.linkType)) {
      throw new CaptureError('unsupported-linktype', p.file, undefined, `unsupported link type ${p.linkType} (${linkTypeName(p.linkType)})`);
    }
  }
  // A rotated set is read in time order, whatever order the shell listed it in.
  const ordered = peeks
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.firstTs ?? Infinity) - (b.p.firstTs ?? Infinity) || a.i - b.i)
    .map(({ p }) => p);
  const total = ordered.reduce((n, p) => n + p.size, 0);

  const engine = new Engine({
    rules: opts.rules,
    inventory: opts.inventory,
    ...(opts.flow ? { flow: opts.flow } : {}),
    ...(opts.fragmentBytes === undefined ? {} : { fragmentBytes: opts.fragmentBytes }),
    ...(opts.secaggTimeout === undefined ? {} : { secaggTimeout: opts.secaggTimeout }),
    onFlow: opts.onFlow,
  });
  const files = new FileEvents(opts, total, new InputPacedCollector(() => engine.flowStats.flows));
  ordered.forEach((p, fileIndex) => {
    files.begin(p.file);
    const packet = engine.decoder.packet;
    const onFrame = (frame: RawFrame): void => {
      if (engine.frame(frame, fileIndex)) files.packetTime(packet.ts);
    };
    files.end(
      readCaptureFile(p.file, onFrame, {
        onInterface: (linkType, interfaceId) => files.interface(linkType, interfaceId),
        onProgress: (bytes) => files.progress(bytes),
      }),
    );
  });
  const { inputs, first, last } = files;
  const captureFindings = engine.finish();
  return {
    inputs,
    complete: inputs.every((i) => i.complete),
    frames: engine.stats.frames,
    decoder: engine.decoderStats,
    flows: engine.flowStats,
    captureFindings,
    first,
    last,
  };
}

/**
 * What happens around the frames of each file: interface warnings, progress (which also paces the
 * collector, see memory.ts), the time span, and the file's summary with its warnings.
 */
class FileEvents {
  readonly inputs: ReadSummary[] = [];
  /**
   * The time span so far (Infinity / -Infinity before any packet). Plain numbers, never undefined:
   * a field that may hold undefined keeps each new time as a heap number, one per packet.
   */
  private firstTs = Infinity;
  private lastTs = -Infinity;
  private file = '';
  /** Bytes of the files before the current one. */
  private done = 0;
  private warned = new Set<number>();
  private unwarned = 0;

  constructor(
    private readonly opts: AnalyzeOptions,
    private readonly total: number,
    private readonly collector: InputPacedCollector,
  ) {}

  begin(file: string): void {
    this.file = file;
    this.warned = new Set();
    // At most MAX_INTERFACE_WARNINGS lines per file, then one count: a crafted pcapng may declare a
    // million unsupported interfaces.
    this.unwarned = 0;
  }

  packetTime(ts: number): void {
    if (ts < this.firstTs) this.firstTs = ts;
    if (ts > this.lastTs) this.lastTs = ts;
  }

  get first(): number | undefined {
    return this.firstTs === Infinity ? undefined : this.firstTs;
  }

  get last(): number | undefined {
    return this.lastTs === -Infinity ? undefined : this.lastTs;
  }

  interface(linkType: number, interfaceId: number): void {
    if (isSupportedLinkType(linkType) || this.warned.has(interfaceId)) return;
    this.warned.add(interfaceId);
    if (this.warned.size > MAX_INTERFACE_WARNINGS) this.unwarned++;
    else this.opts.onWarning?.(`${this.file}: interface ${interfaceId} has unsupported link type ${linkType} (${linkTypeName(linkType)}); its frames are skipped`);
  }

  progress(bytes: number): void {
    this.collector.progress(this.done + bytes);
    this.opts.onProgress?.(this.done + bytes, this.total);
  }

  end(summary: ReadSummary): void {
    const opts = this.opts;
    this.done += summary.fileSize;
    this.inputs.push(summary);
    if (this.unwarned > 0) opts.onWarning?.(`${this.file}: ${this.unwarned} more interfaces have unsupported link types; their frames are skipped`);
    if (summary.stopped) {
      // The reader either stopped at the damage or skipped it and went on (pcapng resynchronisation).
      const after = summary.bytesRead < summary.fileSize ? 'reading stopped there; the report covers what was read before' : 'the damaged part was skipped';
      opts.onWarning?.(`${summary.stopped.message}; ${after}`);
    }
    for (const w of summary.warnings) {
      if (summary.stopped && w.includes(summary.stopped.message)) continue;
      opts.onWarning?.(`${this.file}: ${w}`);
    }
  }
}
