/**
 * Live capture on one or more interfaces through the optional `cap` package (libpcap bindings).
 *
 * What cap 0.2.1 gives, read from its source (node_modules/cap/src/binding.cc), and what follows:
 * - `open(device, filter, bufSize, buffer)` runs pcap_create / pcap_set_snaplen(65535) / promiscuous /
 *   pcap_set_buffer_size(bufSize) / immediate mode / pcap_activate / non-blocking / pcap_compile +
 *   pcap_setfilter, and returns the link type as a string: 'NULL', 'ETHERNET', 'IEEE802_11_RADIO',
 *   'LINKTYPE_LINUX_SLL', 'RAW', or 'Unknown linktype N' (N = the DLT_ value). Errors are plain Errors
 *   carrying libpcap's text (pcap_geterr), with no code: they are told apart here by what they say.
 * - The 'packet' event gives only (nbytes, truncated): the frame was copied into the one Buffer given to
 *   open() (the same Buffer for every packet), `truncated` when it did not fit. The pcap header is not
 *   passed on: no capture timestamp and no original length. So:
 *   - timestamps are the receive time on this process's clock when cap hands the frame over
 *     (performance.timeOrigin + performance.now(), sub-millisecond, monotonic); they lag the wire by
 *     however long the frame waited in the kernel ring while the event loop was busy;
 *   - origLen = caplen (nbytes): a frame cut by the snaplen reports its cut length.
 * - No pcap_stats() binding: the kernel's drop counter (ps_drop, ring full) cannot be read, hence
 *   `dropped: null` in stats(). `received` is counted here; `ifDropped` is computed the way libpcap 1.10
 *   computes ps_ifdrop on Linux (rx_missed_errors + rx_fifo_errors in /sys/class/net, since open).
 * - `Cap.deviceList()` wraps pcap_findalldevs: [{name, description?, addresses[{addr, netmask, ...}],
 *   flags?: 'PCAP_IF_LOOPBACK'}].
 * - libpcap's snaplen is fixed at 65535 by cap; a smaller `snaplen` is obtained by giving cap a smaller
 *   Buffer (it truncates the copy).
 * - With immediate mode libpcap uses a TPACKET_V2 ring whose slots are sized for the interface MTU
 *   (about 64 KiB each on lo, 2 KiB on a 1500-byte Ethernet), so the ring holds bufferSize / slot
 *   packets: keep bufferSize generous (default 32 MiB).
 * - Two hazards in the binding, both avoided here: it keeps a raw pointer to the Buffer without a
 *   reference (the Buffer must stay reachable while the handle lives, or libpcap writes into freed
 *   memory), and after a failed open() its close() and its destructor (on garbage collection) call
 *   uv_poll_stop on a poll handle that was never initialised: a segfault. A Cap whose open() threw is
 *   therefore kept reachable for the life of the process and never closed (see `failedOpens`).
 * - pcap_lookupnet failing (an interface without an IPv4 address) makes cap print
 *   "Warning: ... - This may not actually work" on the process's stderr from C; it cannot be silenced
 *   from JavaScript and is harmless (the netmask only matters to filters that use "broadcast").
 */
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isSupportedLinkType, SUPPORTED_LINK_TYPES } from '../decode/link.js';
import { ipv6Text } from '../decode/addr.js';
import { NetmatrixError, UsageError } from '../errors.js';
import { parseIPv6 } from '../policy/addr.js';
import type { RawFrame } from './frame.js';
import { linkTypeName } from './linktypes.js';

export interface LiveOptions {
  interfaces: string[];
  /** BPF filter (pcap-filter(7) syntax); none when absent or empty. */
  filter?: string;
  /** Bytes kept of each frame, 1..262144 (default 65535; cap's libpcap snaplen is 65535 at most). */
  snaplen?: number;
  /** Kernel ring size per interface in bytes (pcap_set_buffer_size; default 32 MiB). */
  bufferSize?: number;
}

export interface InterfaceStats {
  name: string;
  linkType: number;
  /** Frames libpcap handed over on this interface (after the filter), counted here. */
  received: number;
  /**
   * Packets the kernel dropped because the capture ring was full (pcap_stats ps_drop). Always null:
   * cap 0.2.1 has no pcap_stats() binding, so these drops cannot be known. Null, not 0, so that no
   * caller can take "unknown" for "none".
   */
  dropped: number | null;
  /**
   * Packets the interface itself dropped since open (rx_missed_errors + rx_fifo_errors from
   * /sys/class/net/NAME/statistics, as libpcap 1.10 computes ps_ifdrop on Linux; for `any`, summed over
   * the interfaces present at open). 0 where the counters are unreadable.
   */
  ifDropped: number;
  /** Frames discarded here: arrived before start() beyond the backlog bound. 0 in normal use. */
  discarded: number;
}

export interface LiveCapture {
  /** Link type per opened interface, in order. */
  readonly interfaces: { name: string; linkType: number; interfaceId: number }[];
  /**
   * Deliver frames to onFrame (frames that arrived since openLive first, up to a bound). Each frame's
   * `data` is a fresh copy the consumer owns; `offset` is the frame's delivery sequence number across
   * all interfaces (there is no file); `interfaceId` is the index in `interfaces`.
   * An exception thrown by onFrame propagates out of cap's event as an uncaught exception.
   */
  start(onFrame: (frame: RawFrame) => void): void;
  stats(): InterfaceStats[];
  /** Stop capturing and release the handles. Idempotent; safe inside onFrame. */
  close(): void;
}

export const LIVE_UNAVAILABLE_MESSAGE =
  'live capture needs the optional cap package built against libpcap: apt-get install libpcap-dev, then npm rebuild cap';

export const DEFAULT_SNAPLEN = 65535;
/** cap sets libpcap's snaplen to 65535; a larger request gets that. */
export const CAP_MAX_SNAPLEN = 65535;
export const MAX_SNAPLEN = 262144;
export const DEFAULT_BUFFER_SIZE = 32 * 1024 * 1024;
const MIN_BUFFER_SIZE = 64 * 1024;
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
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): unknown;
  removeAllListeners(event?: string): unknown;
}
interface CapModule {
  Cap: { new (): CapHandle; deviceList(): CapDevice[] };
}

/** Test seam: how cap is loaded (default: a dynamic import of the optional package). */
export interface LiveDeps {
  loadCap?: () => Promise<unknown>;
}

/**
 * Handles whose open() threw, with their Buffers: never closed and never collectable (see the header
 * comment). One small pcap_t per failed attempt (plus its ring when the filter was the problem).
 */
const failedOpens: { cap: CapHandle; buffer: Buffer }[] = [];

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

interface OpenedInterface {
  name: string;
  linkType: number;
  interfaceId: number;
  cap: CapHandle;
  /** cap keeps a raw pointer to it: referenced here for as long as the handle lives. */
  buffer: Buffer;
  received: number;
  discarded: number;
  ifDropBase: Map<string, number>;
  ifDroppedAtClose: number | undefined;
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
  const filter = opts.filter ?? '';

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

  const copyLen = Math.min(snaplen, CAP_MAX_SNAPLEN);
  const opened: OpenedInterface[] = [];
  try {
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const cap = new capMod.Cap();
      const buffer = Buffer.alloc(copyLen);
      let text: string;
      try {
        text = cap.open(name, filter, bufferSize, buffer);
      } catch (e) {
        failedOpens.push({ cap, buffer });
        throw diagnoseOpen(capMod, name, filter, e, netdevs, pcapNames);
      }
      const rec: OpenedInterface = {
        name,
        linkType: -1,
        interfaceId: i,
        cap,
        buffer,
        received: 0,
        discarded: 0,
        ifDropBase: ifDropCounters(name, netdevs),
        ifDroppedAtClose: undefined,
      };
      opened.push(rec);
      const lt = capLinkType(String(text));
      if (lt === undefined || !isSupportedLinkType(lt)) {
        const what = lt === undefined ? `"${String(text)}"` : `${linkTypeName(lt)} (${lt})`;
        const supported = [...new Set(SUPPORTED_LINK_TYPES.map((t) => linkTypeName(t)))].join(', ');
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
  return new CapLiveCapture(opened);
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
    // cap reports activation and filter compilation errors alike: open again without the filter. If
    // that works, the filter was at fault.
    const probe = new capMod.Cap();
    const buffer = Buffer.alloc(64);
    let probeError: unknown;
    try {
      probe.open(name, '', MIN_BUFFER_SIZE, buffer);
    } catch (pe) {
      failedOpens.push({ cap: probe, buffer });
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

function closeHandle(r: OpenedInterface): void {
  r.cap.removeAllListeners('packet');
  r.cap.close();
}

// ---- interface drop counters (libpcap's ps_ifdrop on Linux) -------------------------------------

function readStat(dev: string, stat: string): number {
  try {
    const v = Number.parseInt(readFileSync(`/sys/class/net/${dev}/statistics/${stat}`, 'latin1'), 10);
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
}

function ifDrops(dev: string): number {
  return readStat(dev, 'rx_missed_errors') + readStat(dev, 'rx_fifo_errors');
}

function ifDropCounters(name: string, netdevs: string[] | undefined): Map<string, number> {
  const devs = name === 'any' ? (netdevs ?? []) : [name];
  const m = new Map<string, number>();
  for (const d of devs) if (!d.includes('/')) m.set(d, ifDrops(d));
  return m;
}

function ifDroppedSince(base: Map<string, number>): number {
  let n = 0;
  for (const [dev, b] of base) n += Math.max(0, ifDrops(dev) - b);
  return n;
}

// ---- the clock ----------------------------------------------------------------------------------

/*
 * cap gives no capture timestamp: frames are stamped with the receive time on this process's clock,
 * performance.timeOrigin + performance.now() (sub-millisecond, monotonic from process start). The
 * origin is split into whole seconds and a remainder so the sum stays exact to well under 1 µs.
 */
const ORIGIN_MS = performance.timeOrigin;
const ORIGIN_SEC = Math.floor(ORIGIN_MS / 1000);
const ORIGIN_REM_MS = ORIGIN_MS - ORIGIN_SEC * 1000;

/** Receive time now: [seconds, nanoseconds] as integers. */
export function receiveTime(): [number, number] {
  const ms = ORIGIN_REM_MS + performance.now();
  const s = Math.floor(ms / 1000);
  let sec = ORIGIN_SEC + s;
  let nsec = Math.round((ms - s * 1000) * 1e6);
  if (nsec >= 1e9) {
    sec += 1;
    nsec -= 1e9;
  }
  return [sec, nsec];
}

// ---- the capture --------------------------------------------------------------------------------

class CapLiveCapture implements LiveCapture {
  readonly interfaces: { name: string; linkType: number; interfaceId: number }[];
  private readonly handles: OpenedInterface[];
  private onFrame: ((frame: RawFrame) => void) | undefined;
  private backlog: RawFrame[] = [];
  private backlogBytes = 0;
  private seq = 0;
  private closed = false;

  constructor(handles: OpenedInterface[]) {
    this.handles = handles;
    this.interfaces = handles.map((h) => ({ name: h.name, linkType: h.linkType, interfaceId: h.interfaceId }));
    // Listen from the start: frames that arrive before start() wait in a bounded backlog.
    for (const h of handles) h.cap.on('packet', (nbytes, truncated) => this.packet(h, nbytes, truncated));
  }

  private packet(h: OpenedInterface, nbytes: number, _truncated: boolean): void {
    h.received++;
    const [tsSec, tsNsec] = receiveTime();
    // Copy out of cap's shared buffer now: the next packet overwrites it.
    const n = Math.min(nbytes, h.buffer.length);
    const data = new Uint8Array(n);
    data.set(h.buffer.subarray(0, n));
    const frame: RawFrame = {
      tsSec,
      tsNsec,
      linkType: h.linkType,
      caplen: n,
      // cap does not pass the pcap header's `len`: the original length is not known. A frame cut by
      // the snaplen (`_truncated`) was longer on the wire than this.
      origLen: n,
      data,
      interfaceId: h.interfaceId,
      offset: this.seq++,
    };
    const sink = this.onFrame;
    if (sink) {
      sink(frame);
      return;
    }
    if (this.backlog.length >= BACKLOG_FRAMES || this.backlogBytes + n > BACKLOG_BYTES) {
      h.discarded++;
      return;
    }
    this.backlog.push(frame);
    this.backlogBytes += n;
  }

  start(onFrame: (frame: RawFrame) => void): void {
    if (this.closed) throw new Error('live capture already closed');
    if (this.onFrame) throw new Error('live capture already started');
    const pending = this.backlog;
    this.backlog = [];
    this.backlogBytes = 0;
    this.onFrame = onFrame;
    // cap emits from the event loop, never during this synchronous loop: order is kept.
    for (const f of pending) {
      if (this.closed) break;
      onFrame(f);
    }
  }

  stats(): InterfaceStats[] {
    return this.handles.map((h) => ({
      name: h.name,
      linkType: h.linkType,
      received: h.received,
      dropped: null,
      ifDropped: h.ifDroppedAtClose ?? ifDroppedSince(h.ifDropBase),
      discarded: h.discarded,
    }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.handles) {
      h.ifDroppedAtClose = ifDroppedSince(h.ifDropBase);
      closeHandle(h);
    }
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

function canonicalAddress(address: string): string | undefined {
  if (!address.includes(':')) return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? address : undefined;
  const v = parseIPv6(address);
  if (v === undefined) return undefined;
  const bytes = new Uint8Array(16);
  let x = v;
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return ipv6Text(bytes, 0);
}
