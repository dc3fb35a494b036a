/**
 * The pipeline as one object, for files and live capture alike: frames in; judged flows out as they
 * end; and, when watching live, alerts at the packet that makes a flow a violation (a SYN toward a
 * node, a GUI reached from another host, plaintext where the row expects TLS, a flow no row allows),
 * secagg sessions left open past a timeout while they are still open, and the frames of alerting
 * flows as evidence. The judge says what is a violation; the Engine decides when to ask it.
 */
import type { RawFrame } from '../capture/frame.js';
import { Decoder, OUT_PACKET, type DecoderStats } from '../decode/decoder.js';
import { isTunnelServerPort } from '../decode/tunnel.js';
import { PAYLOAD_CLASSIFIERS, type ClassifiedFlow, type PayloadClassifier } from '../classify/classify.js';
import { FlowTable, type FlowTableOptions, type FlowTableStats } from '../flow/table.js';
import type { Inventory } from '../policy/inventory.js';
import { FINDING_CODES, Judge, type CaptureFinding, type Finding, type JudgedFlow } from '../policy/judge.js';
import type { RuleSet } from '../policy/load.js';

export interface Alert {
  /** Packet time of the alert (seconds since the epoch). */
  at: number;
  finding: Finding;
  /** The flow as judged at that moment. */
  flow: JudgedFlow;
}

export interface EngineOptions {
  rules: RuleSet;
  inventory: Inventory;
  flow?: Partial<Omit<FlowTableOptions, 'isServicePort'>>;
  /** Bytes of IP fragments buffered at most. */
  fragmentBytes?: number;
  onFlow: (flow: JudgedFlow) => void;
  /** Live: violations as they happen, once per flow and code. */
  onAlert?: (alert: Alert) => void;
  /**
   * Seconds a secagg session may stay open. Live, a session open longer is reported while still open;
   * in every mode, its final judgement says secagg-not-closed.
   */
  secaggTimeout?: number;
  /** Live: the frames of every flow that raised an alert (copies, safe to keep). */
  onEvidence?: (frame: RawFrame) => void;
}

/** Frames of a flow kept, before it alerts, in case it does (bounded per flow and overall). */
const PENDING_FRAMES_PER_FLOW = 16;
const PENDING_BYTES_TOTAL = 32 * 1024 * 1024;

interface LiveState {
  flow: ClassifiedFlow;
  /** Bit per finding code already alerted. */
  alerted: number;
  /** Service seen when last judged (to judge again when the payload speaks). */
  service: string | undefined;
  /** The row requires closing: watched for the secagg timeout. */
  mustClose: boolean;
  /** Frames kept before any alert; undefined once recording or dropped. */
  pending: RawFrame[] | undefined;
  recording: boolean;
}

const codeBit = (code: string): number => 1 << FINDING_CODES.indexOf(code as (typeof FINDING_CODES)[number]);

export interface EngineStats {
  frames: number;
  bytes: number;
  alerts: Record<string, number>;
  evidenceFrames: number;
  /** Flows whose early frames could not be kept for evidence (the overall cap was reached). */
  evidenceDropped: number;
}

export class Engine {
  readonly judge: Judge;
  readonly table: FlowTable<PayloadClassifier>;
  readonly decoder: Decoder;
  readonly stats: EngineStats = { frames: 0, bytes: 0, alerts: {}, evidenceFrames: 0, evidenceDropped: 0 };
  private readonly live: Map<number, LiveState> | undefined;
  private pendingBytes = 0;
  private lastSecaggCheck = -Infinity;

  constructor(private readonly opts: EngineOptions) {
    this.judge = new Judge(opts.rules, opts.inventory, opts.secaggTimeout);
    // Servers' ports: the matrix's and the host services' (the judge's), and the UDP tunnels' (the
    // decoder's), as Zeek adds its tunnel analyzers' ports to likely_server_ports.
    const judgePort = this.judge.isServicePort;
    const isServicePort = (transport: 'tcp' | 'udp', port: number): boolean => judgePort(transport, port) || (transport === 'udp' && isTunnelServerPort(port));
    this.decoder = new Decoder({ isServicePort, ...(opts.fragmentBytes === undefined ? {} : { fragments: { maxBytes: opts.fragmentBytes } }) });
    this.live = opts.onAlert ? new Map() : undefined;
    this.table = new FlowTable({ ...opts.flow, isServicePort }, (flow) => this.ended(flow), PAYLOAD_CLASSIFIERS);
  }

  get decoderStats(): DecoderStats {
    return this.decoder.stats;
  }

  get flowStats(): FlowTableStats {
    return this.table.stats;
  }

  /**
   * One frame; true when it decoded to a packet (`decoder.packet`, its time included, is then valid
   * until the next frame). A boolean, not the time: returning the time would box a heap number per packet.
   */
  frame(frame: RawFrame, fileIndex = 0): boolean {
    this.stats.frames++;
    this.stats.bytes += frame.origLen;
    const decoder = this.decoder;
    if (decoder.decodeInto(frame) !== OUT_PACKET) return false;
    this.packet(frame, fileIndex);
    // A UDP tunnel: the datagram was a flow of its own, the packets inside it are too.
    while (decoder.hasInner) if (decoder.inner() === OUT_PACKET) this.packet(frame, fileIndex);
    return true;
  }

  /** The decoder's packet (of `frame`) into the flow table. */
  private packet(frame: RawFrame, fileIndex: number): void {
    const packet = this.decoder.packet;
    const flow = this.table.add(packet, fileIndex);
    if (flow && this.live) this.watch(flow, frame);
    if (this.live && packet.ts - this.lastSecaggCheck >= 1) this.checkSecagg(packet.ts);
  }

  /** Live: time passes without packets; timeouts and the secagg timer still run. */
  tick(now: number): void {
    this.table.advance(now);
    if (this.live) this.checkSecagg(Math.max(now, this.table.time));
  }

  /** Capture over: ends every flow; returns the capture-level findings. */
  finish(): CaptureFinding[] {
    this.table.flush();
    return this.judge.captureFindings();
  }

  private watch(flow: ClassifiedFlow, frame: RawFrame): void {
    const live = this.live as Map<number, LiveState>;
    let state = live.get(flow.id);
    const isNew = state === undefined;
    if (!state) {
      state = { flow, alerted: 0, service: undefined, mustClose: false, pending: this.opts.onEvidence ? [] : undefined, recording: false };
      live.set(flow.id, state);
    }
    // Is this frame written or kept already? If not, an alert it raises writes it.
    let handled = false;
    if (state.recording) {
      this.evidence(frame);
      handled = true;
    } else if (state.pending) {
      if (state.pending.length < PENDING_FRAMES_PER_FLOW && this.pendingBytes + frame.caplen <= PENDING_BYTES_TOTAL) {
        state.pending.push({ ...frame, data: frame.data.slice() });
        this.pendingBytes += frame.caplen;
        handled = true;
      } else if (this.pendingBytes + frame.caplen > PENDING_BYTES_TOTAL) {
        this.stats.evidenceDropped++;
        this.dropPending(state);
      }
    }
    const service = flow.classifier.result.service;
    if (isNew || service !== state.service) {
      state.service = service;
      const judged = this.judge.provisional(flow);
      if (isNew) state.mustClose = this.judge.mustClose(judged);
      this.raise(state, judged, judged.findings, handled ? undefined : frame);
    }
    // Once the payload is classified nothing more will change before the end (except the secagg
    // timer: a must-close session keeps its first frames until it ends): stop keeping frames.
    if (!state.recording && state.pending && flow.classifier.done && !state.mustClose) this.dropPending(state);
  }

  /** `unwritten`: the current frame when it is neither kept nor written yet. */
  private raise(state: LiveState, judged: JudgedFlow, findings: Finding[], unwritten: RawFrame | undefined): void {
    for (const f of findings) {
      if (f.severity !== 'violation') continue;
      const bit = codeBit(f.code);
      if (state.alerted & bit) continue;
      state.alerted |= bit;
      this.stats.alerts[f.code] = (this.stats.alerts[f.code] ?? 0) + 1;
      if (!state.recording && this.opts.onEvidence) {
        state.recording = true;
        for (const p of state.pending ?? []) this.evidence(p);
        if (unwritten) this.evidence(unwritten);
        this.dropPending(state);
      }
      this.opts.onAlert?.({ at: judged.end, finding: f, flow: judged });
    }
  }

  private evidence(frame: RawFrame): void {
    this.stats.evidenceFrames++;
    this.opts.onEvidence?.(frame);
  }

  private dropPending(state: LiveState): void {
    if (!state.pending) return;
    for (const p of state.pending) this.pendingBytes -= p.caplen;
    state.pending = undefined;
  }

  /** Secagg sessions still open after the timeout are reported while still open. */
  private checkSecagg(now: number): void {
    this.lastSecaggCheck = now;
    if (this.judge.secaggTimeout === undefined || !this.live) return;
    const bit = codeBit('secagg-not-closed');
    for (const state of this.live.values()) {
      if (!state.mustClose || state.alerted & bit) continue;
      const overdue = this.judge.overdue(state.flow, now);
      if (overdue) this.raise(state, overdue.flow, [overdue.finding], undefined);
    }
  }

  private ended(flow: ClassifiedFlow): void {
    const judged = this.judge.judge(flow);
    if (this.live) {
      const state = this.live.get(flow.id);
      this.live.delete(flow.id);
      if (state) {
        // Violations only the end can show (a payload decided at the end, a secagg session open at shutdown).
        this.raise(state, judged, judged.findings, undefined);
        this.dropPending(state);
      }
    }
    this.opts.onFlow(judged);
  }
}
