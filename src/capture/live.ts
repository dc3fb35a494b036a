/**
 * Live capture on one or more interfaces through the optional `cap` package: our patched copy of cap
 * 0.2.1 in native/cap (see its README for what changed), built against libpcap by `npm ci`.
 *
 * How it is used here:
 * - `open(device, filter, bufSize, buffer, options)` with libpcap's snaplen, a kernel ring of bufSize
 *   bytes, promiscuous mode, nanosecond timestamps where the kernel gives them, and, by default, no
 *   immediate mode but a short read timeout. Immediate mode on Linux makes a TPACKET_V2 ring whose
 *   slots are sized for the interface MTU (about 64 KiB each on `lo`: a 32 MiB ring holds some 500
 *   frames and overflows at a few hundred thousand packets per second); without it libpcap uses a
 *   TPACKET_V3 ring of variable-size frames, and the read timeout bounds how long a frame waits in a
 *   block before it is handed over (50 ms: far inside the 2 s an alert may take).
 * - Batch mode: the binding copies every frame the kernel has ready into one Buffer, each behind a
 *   16-byte header (seconds, nanoseconds, captured length, original length; little-endian) and
 *   padded to 4 bytes, then makes one call into JavaScript for the lot. Frames are handed on as one
 *   reused ChunkFrame over that Buffer, exactly as the file readers do (valid only during the call).
 * - Times are the kernel's capture timestamps and origLen the wire length from libpcap's header.
 * - `stats()` is pcap_stats(): ps_recv (on Linux: every packet that passed the filter into the
 *   socket, including those then dropped), ps_drop (the ring was full) and ps_ifdrop (the interface's
 *   rx_missed_errors + rx_fifo_errors since open; always 0 on `any`). They are 32-bit counters that
 *   wrap: totals here are sums of differences modulo 2^32, so they must be read at least once per
 *   2^32 packets (the monitor reads them every second).
 * - On a loopback interface the binding asks the kernel not to pass outgoing copies (each packet also
 *   comes back in), so there too every packet is counted once. On `any` libpcap still receives lo's
 *   outgoing copies and throws them away itself: ps_recv and ps_drop may count lo's packets twice.
 * - A failed open() has closed its pcap_t before it throws; close() is idempotent and safe inside
 *   the packet callback; the binding holds the Buffer for as long as libpcap may write into it.
 */
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { canonicalAddress } from '../model/address.js';
import { NetmatrixError, UsageError } from '../model/errors.js';
import { ChunkFrame, type RawFrame } from './frame.js';
import { linkTypeName } from './linktypes.js';

export interface LiveOptions {
  interfaces: string[];
  /** BPF filter (pcap-filter(7) syntax); none when absent or empty. */
  filter?: string;
  /** Bytes kept of each frame, 1..262144 (libpcap's snaplen; default 65535). */
  snaplen?: number;
  /** Kernel ring size per interface in bytes (pcap_set_buffer_size; default 32 MiB). */
  bufferSize?: number;
  /** libpcap immediate mode (every frame handed over at once; default false, see the header). */
  immediate?: boolean;
  /** Read timeout in milliseconds when not immediate: the longest a frame waits (default 50). */
  timeoutMs?: number;
  /** Link types the caller can decode: an interface of another type is refused (default: any known). */
  linkTypes?: readonly number[];
}

export interface InterfaceStats {
  name: string;
  linkType: number;
  /** libpcap's ps_recv since open: packets that passed the filter (on Linux including those dropped). */
  received: number;
  /** Frames handed to netmatrix. */
  captured: number;
  /** libpcap's ps_drop since open: packets the kernel dropped because the capture ring was full. */
  dropped: number;
  /** libpcap's ps_ifdrop since open: packets the interface or its driver dropped. */
  ifDropped: number;
  /** Frames discarded here: arrived before start() beyond the backlog bound. 0 in normal use. */
  discarded: number;
}

export interface LiveCapture {
  /** Link type per opened interface, in order. */
  readonly interfaces: { name: string; linkType: number; interfaceId: number }[];
  /**
   * Deliver frames to onFrame (frames that arrived since openLive first, up to a bound). As with the
   * file readers, the frame object and its bytes are valid only during the call: a consumer that keeps
   * a frame copies it. `offset` is the frame's delivery sequence number across all interfaces (there
   * is no file); `interfaceId` is the index in `interfaces`.
   * An exception thrown by onFrame propagates out of the binding's event as an uncaught exception.
   */
  start(onFrame: (frame: RawFrame) => void): void;
  /** libpcap's counters since open (read now; after close, as they were at close). */
  stats(): InterfaceStats[];
  /** Stop capturing and release the handles. Idempotent; safe inside onFrame. */
  close(): void;
  /**
   * Close once the frames the kernel took so far are delivered: without immediate mode they may wait
   * in a ring block for up to the read timeout, and closing at once would lose them uncounted (neither
   * delivered nor dropped).
   */
  drainAndClose(): Promise<void>;
}

export const LIVE_UNAVAILABLE_MESSAGE =
  'live capture needs the optional cap package built against libpcap: apt-get install libpcap-dev, then run npm ci again';

export const DEFAULT_SNAPLEN = 65535;
export const MAX_SNAPLEN = 262144;
export const DEFAULT_BUFFER_SIZE = 32 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 50;
const MIN_BUFFER_SIZE = 64 * 1024;
/** Bytes of the Buffer the binding fills with a batch of frames (one frame of any snaplen fits). */
const BATCH_BUFFER_BYTES = 2 * 1024 * 1024;
const BATCH_HEADER = 16;
/** Frames kept between openLive and start() (the window is short: the caller's setup). */
const BACKLOG_FRAMES = 8192;
const BACKLOG_BYTES = 64 * 1024 * 1024;

// ---- the parts of cap used here ---------------------------------------------------------------

interface CapDevice {
  name: string;
  description?: string;
  addresses?: { addr?: string }[];
  flags?: string;
}
export interface CapOpenOptions {
  snaplen: number;
  promiscuous: boolean;
  immediate: boolean;
  timeout: number;
  nanoseconds: boolean;
  batch: boolean;
}
export interface CapStats {
  received: number;
  dropped: number;
  ifDropped: number;
}
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer, options: CapOpenOptions): string;
  close(): boolean;
  stats(): CapStats;
  on(event: 'packets', listener: (count: number, used: number) => void): unknown;
  removeAllListeners(event?: string): unknown;
}
interface CapModule {
  Cap: { new (): CapHandle; deviceList(): CapDevice[] };
}

/** Test seam: how cap is loaded (default: require of the optional package). */
export interface LiveDeps {
  loadCap?: () => Promise<unknown>;
}

async function loadCap(deps: LiveDeps): Promise<CapModule> {
  let mod: unknown;
  try {
    if (deps.loadCap) mod = await deps.loadCap();
    else {
      // require, not import(): cap is a CommonJS addon, and the command's bundle runs in a vm.Script
      // (see cli/code-cache.ts), where import() has no loader.
      mod = createRequire(import.meta.url)('cap') as unknown;
    }
  } catch (e) {
    throw new NetmatrixError('live-unavailable', `${LIVE_UNAVAILABLE_MESSAGE} (${firstLine(e)})`);
  }
  const m = mod as { default?: unknown; Cap?: unknown } | null;
  const api = (m && typeof m === 'object' && 'Cap' in m ? m : m?.default) as Partial<CapModule> | undefined;
  if (!api || typeof api.Cap !== 'function' || typeof api.Cap.deviceList !== 'function') {
    throw new NetmatrixError('live-unavailable', `${LIVE_UNAVAILABLE_MESSAGE} (the cap module has no Cap class)`);
  }
  if (typeof (api.Cap.prototype as Partial<CapHandle>).stats !== 'function') {
    // cap from the npm registry (0.2.1) has no stats(): drops could not be counted.
    throw new NetmatrixError('live-unavailable', `${LIVE_UNAVAILABLE_MESSAGE} (this cap has no stats(): netmatrix needs its own copy, native/cap)`);
  }
  return api as CapModule;
}

// ---- link types ---------------------------------------------------------------------------------

/** LINKTYPE_* value of the string cap's open() returns; undefined if it is not one cap produces. */
export function capLinkType(text: string): number | undefined {
  switch (text) {
    case 'NULL':
      return 0; // DLT_NULL
    case 'ETHERNET':
      return 1; // DLT_EN10MB
    case 'IEEE802_11_RADIO':
      return 127; // DLT_IEEE802_11_RADIO (radiotap)
    case 'LINKTYPE_LINUX_SLL':
      return 113; // DLT_LINUX_SLL: what libpcap gives for `any`
    case 'RAW':
      return 101; // DLT_RAW (12 on Linux) is LINKTYPE_RAW in files
  }
  const m = /^Unknown linktype (-?\d+)$/.exec(text);
  if (!m) return undefined;
  const dlt = Number(m[1]);
  // DLT_ and LINKTYPE_ values agree except for a few historical ones; DLT_RAW 12 and 14 were handled
  // above or mean raw IP too. LINUX_SLL2 (276), IPV4 (228), IPV6 (229), LOOP (108) are equal.
  if (dlt === 12 || dlt === 14) return 101;
  return dlt;
}

// ---- opening ------------------------------------------------------------------------------------

function listNetdevs(): string[] | undefined {
  try {
    return readdirSync('/sys/class/net').sort();
  } catch {
    return undefined;
  }
}

/** A 32-bit libpcap counter turned into a total: differences modulo 2^32 since open. */
export class WrappingCounter {
  total = 0;
  private last = 0;
  update(raw: number): number {
    this.total += (raw - this.last) >>> 0;
    this.last = raw >>> 0;
    return this.total;
  }
}

interface OpenedInterface {
  name: string;
  linkType: number;
  interfaceId: number;
  cap: CapHandle;
  /** The binding holds it too; kept here to read the batches. */
  buffer: Buffer;
  /**
   * The same bytes as a plain Uint8Array: frames are views of it, and a consumer's `data.slice()`
   * must copy (Buffer's slice() would return a view of a buffer the next batch overwrites).
   */
  bytes: Uint8Array;
  captured: number;
  discarded: number;
  received: WrappingCounter;
  dropped: WrappingCounter;
  ifDropped: WrappingCounter;
  open: boolean;
}

export async function openLive(opts: LiveOptions, deps: LiveDeps = {}): Promise<LiveCapture> {
  const names = opts.interfaces;
  if (names.length === 0) throw new UsageError('no interface to capture on');
  const seen = new Set<string>();
  for (const n of names) {
    if (n === '') throw new UsageError('empty interface name');
    if (seen.has(n)) throw new UsageError(`interface ${n} given twice`);
    seen.add(n);
  }
  const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > MAX_SNAPLEN) {
    throw new UsageError(`snaplen must be an integer from 1 to ${MAX_SNAPLEN} (got ${snaplen})`);
  }
  const bufferSize = opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isInteger(bufferSize) || bufferSize < MIN_BUFFER_SIZE || bufferSize > 0x7fffffff) {
    throw new UsageError(`capture buffer size must be an integer from ${MIN_BUFFER_SIZE} to ${0x7fffffff} bytes (got ${bufferSize})`);
  }
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 60000) {
    throw new UsageError(`read timeout must be an integer from 1 to 60000 ms (got ${timeout})`);
  }
  const filter = opts.filter ?? '';
  const capOptions: CapOpenOptions = {
    snaplen,
    promiscuous: true,
    immediate: opts.immediate ?? false,
    timeout,
    nanoseconds: true,
    batch: true,
  };

  const capMod = await loadCap(deps);

  // Interface names: checked up front, so an unknown name says so (opening it as an unprivileged user
  // would otherwise fail on the socket first and be reported as a permission problem).
  let pcapNames: string[] = [];
  try {
    pcapNames = capMod.Cap.deviceList().map((d) => d.name);
  } catch {
    // pcap_findalldevs failed: let open() decide.
  }
  const netdevs = listNetdevs();
  const known = new Set(['any', ...pcapNames, ...(netdevs ?? [])]);
  for (const n of names) {
    if (known.size > 1 && !known.has(n) && !n.includes(':')) {
      // "nflog:5"-style pcap device names with a parameter are not listed: let libpcap judge those.
      throw noSuchInterface(n, netdevs, pcapNames);
    }
  }

  const opened: OpenedInterface[] = [];
  try {
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const cap = new capMod.Cap();
      const buffer = Buffer.alloc(Math.max(BATCH_BUFFER_BYTES, snaplen + 4 * BATCH_HEADER));
      let text: string;
      try {
        text = cap.open(name, filter, bufferSize, buffer, capOptions);
      } catch (e) {
        // The binding closed its pcap_t before throwing: nothing to release.
        throw diagnoseOpen(capMod, name, filter, e, netdevs, pcapNames);
      }
      const rec: OpenedInterface = {
        name,
        linkType: -1,
        interfaceId: i,
        cap,
        buffer,
        bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length),
        captured: 0,
        discarded: 0,
        received: new WrappingCounter(),
        dropped: new WrappingCounter(),
        ifDropped: new WrappingCounter(),
        open: true,
      };
      opened.push(rec);
      const lt = capLinkType(String(text));
      const wanted = opts.linkTypes;
      if (lt === undefined || (wanted !== undefined && !wanted.includes(lt))) {
        const what = lt === undefined ? `"${String(text)}"` : `${linkTypeName(lt)} (${lt})`;
        const supported = [...new Set((wanted ?? []).map((t) => linkTypeName(t)))].join(', ');
        throw new NetmatrixError(
          'unsupported-linktype',
          `interface ${name} has link type ${what}, which netmatrix cannot decode (supported: ${supported})`,
        );
      }
      rec.linkType = lt;
    }
  } catch (e) {
    for (const r of opened) closeHandle(r);
    throw e;
  }
  return new CapLiveCapture(opened, capOptions.immediate ? 0 : timeout);
}

function noSuchInterface(name: string, netdevs: string[] | undefined, pcapNames: string[]): NetmatrixError {
  const available = netdevs ? ['any', ...netdevs] : pcapNames;
  const shown = available.length > 30 ? `${available.slice(0, 30).join(', ')}, ...` : available.join(', ');
  return new NetmatrixError('live-no-interface', `no such interface: ${name} (available: ${shown || 'none'})`);
}

const PERMISSION = /not permitted|permission|EPERM|EACCES|CAP_NET_RAW|superuser/i;
const NO_DEVICE = /no such device|doesn't exist|does not exist|ENODEV|ENXIO/i;

function diagnoseOpen(
  capMod: CapModule,
  name: string,
  filter: string,
  e: unknown,
  netdevs: string[] | undefined,
  pcapNames: string[],
): NetmatrixError {
  const msg = firstLine(e);
  if (PERMISSION.test(msg)) return permissionDenied(name);
  if (NO_DEVICE.test(msg)) return noSuchInterface(name, netdevs, pcapNames);
  if (filter !== '') {
    // Activation and filter compilation errors come alike: open again without the filter. If that
    // works, the filter was at fault.
    const probe = new capMod.Cap();
    let probeError: unknown;
    try {
      probe.open(name, '', MIN_BUFFER_SIZE, Buffer.alloc(128), { snaplen: 64, promiscuous: false, immediate: true, timeout: 50, nanoseconds: false, batch: false });
    } catch (pe) {
      probeError = pe;
    }
    if (probeError === undefined) {
      probe.close();
      return new NetmatrixError('live-filter', `bad capture filter "${oneLine(filter)}": ${msg}`);
    }
    const pmsg = firstLine(probeError);
    if (PERMISSION.test(pmsg)) return permissionDenied(name);
    if (NO_DEVICE.test(pmsg)) return noSuchInterface(name, netdevs, pcapNames);
    return new NetmatrixError('live-open', `cannot capture on ${name}: ${pmsg}`);
  }
  return new NetmatrixError('live-open', `cannot capture on ${name}: ${msg}`);
}

function permissionDenied(name: string): NetmatrixError {
  return new NetmatrixError('live-permission', `permission denied opening ${name}: run as root or give node CAP_NET_RAW`);
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return oneLine(text.split('\n')[0] ?? '');
}

function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
}

/** Reads libpcap's counters into the totals (while the handle is open). */
function readCounters(r: OpenedInterface): void {
  if (!r.open) return;
  const s = r.cap.stats();
  r.received.update(s.received);
  r.dropped.update(s.dropped);
  r.ifDropped.update(s.ifDropped);
}

function closeHandle(r: OpenedInterface): void {
  if (!r.open) return;
  try {
    readCounters(r);
  } catch {
    // pcap_stats failing at close leaves the last totals read.
  }
  r.open = false;
  r.cap.removeAllListeners('packets');
  r.cap.close();
}

// ---- the capture --------------------------------------------------------------------------------

class CapLiveCapture implements LiveCapture {
  readonly interfaces: { name: string; linkType: number; interfaceId: number }[];
  private readonly handles: OpenedInterface[];
  /** How long a frame may wait in the ring before it is handed over (0 in immediate mode). */
  private readonly waitMs: number;
  private onFrame: ((frame: RawFrame) => void) | undefined;
  private backlog: RawFrame[] = [];
  private backlogBytes = 0;
  private seq = 0;
  private closed = false;
  private readonly frame = new ChunkFrame();

  constructor(handles: OpenedInterface[], waitMs: number) {
    this.handles = handles;
    this.waitMs = waitMs;
    this.interfaces = handles.map((h) => ({ name: h.name, linkType: h.linkType, interfaceId: h.interfaceId }));
    // Listen from the start: frames that arrive before start() wait in a bounded backlog.
    for (const h of handles) h.cap.on('packets', (count, used) => this.batch(h, count, used));
  }

  private batch(h: OpenedInterface, count: number, used: number): void {
    const buf = h.buffer;
    const frame = this.frame;
    frame.chunk = h.bytes;
    frame.linkType = h.linkType;
    frame.interfaceId = h.interfaceId;
    let off = 0;
    for (let i = 0; i < count && off + BATCH_HEADER <= used; i++) {
      const caplen = buf.readUInt32LE(off + 8);
      frame.tsSec = buf.readUInt32LE(off);
      frame.tsNsec = buf.readUInt32LE(off + 4);
      frame.caplen = caplen;
      frame.origLen = buf.readUInt32LE(off + 12);
      frame.chunkOffset = off + BATCH_HEADER;
      frame.offset = this.seq++;
      off += BATCH_HEADER + ((caplen + 3) & ~3);
      h.captured++;
      const sink = this.onFrame;
      if (sink) {
        sink(frame);
        // close() inside the callback: the rest of this batch is not delivered.
        if (this.closed) return;
      } else if (this.backlog.length < BACKLOG_FRAMES && this.backlogBytes + caplen <= BACKLOG_BYTES) {
        this.backlog.push({ tsSec: frame.tsSec, tsNsec: frame.tsNsec, linkType: frame.linkType, caplen, origLen: frame.origLen, data: frame.data.slice(), interfaceId: frame.interfaceId, offset: frame.offset });
        this.backlogBytes += caplen;
      } else {
        h.discarded++;
      }
    }
  }

  start(onFrame: (frame: RawFrame) => void): void {
    if (this.closed) throw new Error('live capture already closed');
    if (this.onFrame) throw new Error('live capture already started');
    const pending = this.backlog;
    this.backlog = [];
    this.backlogBytes = 0;
    this.onFrame = onFrame;
    // The binding calls from the event loop, never during this synchronous loop: order is kept.
    for (const f of pending) {
      if (this.closed) break;
      onFrame(f);
    }
  }

  stats(): InterfaceStats[] {
    return this.handles.map((h) => {
      readCounters(h);
      return {
        name: h.name,
        linkType: h.linkType,
        received: h.received.total,
        captured: h.captured,
        dropped: h.dropped.total,
        ifDropped: h.ifDropped.total,
        discarded: h.discarded,
      };
    });
  }

  async drainAndClose(): Promise<void> {
    if (this.closed) return;
    if (this.waitMs > 0) await new Promise((r) => setTimeout(r, this.waitMs + 50));
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.handles) closeHandle(h);
    this.backlog = [];
    this.onFrame = undefined;
  }
}

// ---- the host's addresses -----------------------------------------------------------------------

/**
 * The host's own addresses on these interfaces (`any` = all), from os.networkInterfaces(), in canonical
 * text: IPv4 dotted quad, IPv6 RFC 5952 (lower case, compressed), without zone. Sorted, no duplicates.
 * An unknown interface contributes nothing.
 */
export function localAddresses(interfaces: string[]): string[] {
  const all = networkInterfaces();
  const wanted = interfaces.includes('any') ? Object.keys(all) : interfaces;
  const out = new Set<string>();
  for (const name of wanted) {
    for (const a of all[name] ?? []) {
      const text = canonicalAddress(a.address);
      if (text !== undefined) out.add(text);
    }
  }
  return [...out].sort();
}
