/**
 * Live capture (src/capture/live.ts) with the real cap + libpcap: real TCP traffic on loopback, `-i any`,
 * the one-line errors (bad filter, unknown interface, no permission as user nobody, interface down),
 * link types of a tun (raw IP) and a veth (Ethernet) in a network namespace of our own.
 *
 * Needs root. On CI (process.env.CI set) these tests FAIL when not root; elsewhere they are skipped.
 * The tests that need no privilege (cap replaced by a fake, localAddresses) always run.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import type { RawFrame } from '../../src/capture/frame.js';
import {
  capLinkType,
  LIVE_UNAVAILABLE_MESSAGE,
  localAddresses,
  openLive,
  WrappingCounter,
  type LiveCapture,
  type LiveDeps,
} from '../../src/capture/live.js';
import { NetmatrixError, UsageError } from '../../src/model/errors.js';
import { SUPPORTED_LINK_TYPES } from '../../src/decode/link.js';

const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const IS_ROOT = process.getuid?.() === 0;
const ON_CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
/** Root-only tests: run as root; on CI without root they run and fail; elsewhere skipped. */
const rootIt = IS_ROOT || ON_CI ? it : it.skip;

function requireRoot(): void {
  if (!IS_ROOT) throw new Error(`live capture tests need root (uid ${process.getuid?.()}); CI must run them as root`);
}

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) >= 0;
}

/** A TCP server on 127.0.0.1 that echoes; returns its port and a way to send one message and wait for the echo. */
async function echoServer(): Promise<{ port: number; exchange: (msg: string) => Promise<void>; close: () => Promise<void> }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const exchange = (msg: string): Promise<void> =>
    new Promise((resolveP, reject) => {
      const c = connect(port, '127.0.0.1', () => c.write(msg));
      let got = '';
      c.on('data', (d) => {
        got += d.toString('latin1');
        if (got.length >= msg.length) c.end();
      });
      c.on('close', () => (got === msg ? resolveP() : reject(new Error(`echo: got ${JSON.stringify(got)}`))));
      c.on('error', reject);
    });
  return { port, exchange, close: () => new Promise((r) => server.close(() => r())) };
}

/** TCP source/destination ports of an IPv4 packet starting at `ip` in the frame (undefined if not TCP/IPv4). */
function tcpPorts(d: Uint8Array, ip: number): [number, number] | undefined {
  if ((d[ip]! >> 4) !== 4 || d[ip + 9] !== 6) return undefined;
  const t = ip + (d[ip]! & 15) * 4;
  return [(d[t]! << 8) | d[t + 1]!, (d[t + 2]! << 8) | d[t + 3]!];
}

function errorOf(p: Promise<unknown>): Promise<NetmatrixError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(NetmatrixError);
      return e as NetmatrixError;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Without privilege

describe('capLinkType: cap link-type strings to LINKTYPE values', () => {
  it.each([
    ['NULL', 0],
    ['ETHERNET', 1],
    ['LINKTYPE_LINUX_SLL', 113],
    ['RAW', 101],
    ['IEEE802_11_RADIO', 127],
    ['Unknown linktype 276', 276],
    ['Unknown linktype 228', 228],
    ['Unknown linktype 229', 229],
    ['Unknown linktype 12', 101],
    ['Unknown linktype 239', 239],
  ])('%s -> %i', (text, lt) => {
    expect(capLinkType(text)).toBe(lt);
  });
  it('anything else -> undefined', () => {
    expect(capLinkType('ETHER')).toBeUndefined();
    expect(capLinkType('')).toBeUndefined();
  });
});

describe('WrappingCounter: libpcap 32-bit counters into totals', () => {
  it('sums differences modulo 2^32 across wraps', () => {
    const c = new WrappingCounter();
    expect(c.update(10)).toBe(10);
    expect(c.update(10)).toBe(10);
    expect(c.update(0xffff_fff0)).toBe(0xffff_fff0);
    expect(c.update(5)).toBe(0xffff_fff0 + 0x15); // wrapped: 0x10 to reach 2^32, then 5
    expect(c.update(0xffff_ffff)).toBe(0x1_ffff_ffff); // 0xffff_fffa more
    expect(c.update(0xffff_ffff)).toBe(0x1_ffff_ffff);
  });
});

/** A stand-in for cap recording what it was asked, for the error paths. */
function fakeCap(behaviour: {
  devices?: string[];
  open: (device: string, filter: string) => string;
}): { deps: LiveDeps; opened: string[]; closed: string[] } {
  const opened: string[] = [];
  const closed: string[] = [];
  class Cap {
    static deviceList(): { name: string }[] {
      return (behaviour.devices ?? ['lo', 'eth0', 'any']).map((name) => ({ name }));
    }
    private dev = '';
    open(device: string, filter: string, bufSize: number, buffer: Buffer, options: Record<string, unknown>): string {
      expect(Number.isInteger(bufSize)).toBe(true);
      expect(Buffer.isBuffer(buffer)).toBe(true);
      expect(typeof options).toBe('object');
      const r = behaviour.open(device, filter);
      this.dev = device;
      opened.push(`${device}|${filter}`);
      return r;
    }
    close(): boolean {
      closed.push(this.dev);
      return true;
    }
    stats(): { received: number; dropped: number; ifDropped: number } {
      return { received: 0, dropped: 0, ifDropped: 0 };
    }
    on(): this {
      return this;
    }
    removeAllListeners(): this {
      return this;
    }
  }
  return { deps: { loadCap: () => Promise.resolve({ default: { Cap } }) }, opened, closed };
}

describe('openLive without privilege (cap replaced)', () => {
  it('cap missing: live-unavailable, exit 2, the fix in one line', async () => {
    const err = await errorOf(
      openLive({ interfaces: ['lo'] }, { loadCap: () => Promise.reject(new Error("Cannot find package 'cap' imported from x")) }),
    );
    expect(err.code).toBe('live-unavailable');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`${LIVE_UNAVAILABLE_MESSAGE} (Cannot find package 'cap' imported from x)`);
    expect(LIVE_UNAVAILABLE_MESSAGE).toBe(
      'live capture needs the optional cap package built against libpcap: apt-get install libpcap-dev, then run npm ci again',
    );
    expect(err.message).not.toContain('\n');
  });

  it('cap from the registry (no stats()): live-unavailable, pointing at our own copy', async () => {
    class OldCap {
      static deviceList(): { name: string }[] {
        return [{ name: 'lo' }];
      }
    }
    const err = await errorOf(openLive({ interfaces: ['lo'] }, { loadCap: () => Promise.resolve({ Cap: OldCap }) }));
    expect(err.code).toBe('live-unavailable');
    expect(err.message).toBe(`${LIVE_UNAVAILABLE_MESSAGE} (this cap has no stats(): netmatrix needs its own copy, native/cap)`);
  });

  it('libpcap missing (the addon fails to load): live-unavailable, first line of the cause only', async () => {
    const err = await errorOf(
      openLive(
        { interfaces: ['lo'] },
        { loadCap: () => Promise.reject(new Error('libpcap.so.0.8: cannot open shared object file: No such file or directory\n    at x')) },
      ),
    );
    expect(err.code).toBe('live-unavailable');
    expect(err.message).toBe(`${LIVE_UNAVAILABLE_MESSAGE} (libpcap.so.0.8: cannot open shared object file: No such file or directory)`);
  });

  it('an interface with a link type netmatrix cannot decode: unsupported-linktype, already opened handles closed', async () => {
    const f = fakeCap({ open: (d) => (d === 'lo' ? 'ETHERNET' : 'Unknown linktype 189') });
    const err = await errorOf(openLive({ interfaces: ['lo', 'eth0'], linkTypes: SUPPORTED_LINK_TYPES }, f.deps));
    expect(err.code).toBe('unsupported-linktype');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      'interface eth0 has link type USB_LINUX (189), which netmatrix cannot decode (supported: NULL, EN10MB, PPP, RAW, LOOP, IEEE802_11, LINUX_SLL, IEEE802_11_RADIOTAP, IPV4, IPV6, LINUX_SLL2)',
    );
    expect(f.closed.sort()).toEqual(['eth0', 'lo']);
  });

  it('permission errors from libpcap are recognised', async () => {
    const f = fakeCap({
      open: () => {
        throw new Error('socket: Operation not permitted');
      },
    });
    const err = await errorOf(openLive({ interfaces: ['eth0'] }, f.deps));
    expect(err.code).toBe('live-permission');
    expect(err.message).toBe('permission denied opening eth0: run as root or give node CAP_NET_RAW');
  });

  it('a filter error is told apart from a device error by opening again without the filter', async () => {
    const f = fakeCap({
      open: (_d, filter) => {
        if (filter !== '') throw new Error("can't parse filter expression: syntax error");
        return 'ETHERNET';
      },
    });
    const err = await errorOf(openLive({ interfaces: ['lo'], filter: 'tcp and and' }, f.deps));
    expect(err.code).toBe('live-filter');
    expect(err.message).toBe('bad capture filter "tcp and and": can\'t parse filter expression: syntax error');
    expect(f.opened).toEqual(['lo|']); // the probe, closed again
    expect(f.closed).toEqual(['lo']);
    const g = fakeCap({
      open: () => {
        throw new Error('That device is not up');
      },
    });
    const err2 = await errorOf(openLive({ interfaces: ['lo'], filter: 'tcp' }, g.deps));
    expect(err2.code).toBe('live-open');
    expect(err2.message).toBe('cannot capture on lo: That device is not up');
  });

  it('bad options: UsageError before cap is touched', async () => {
    let loaded = 0;
    const deps: LiveDeps = { loadCap: () => (loaded++, Promise.reject(new Error('not reached'))) };
    for (const [opts, msg] of [
      [{ interfaces: [] }, 'no interface to capture on'],
      [{ interfaces: ['lo', 'lo'] }, 'interface lo given twice'],
      [{ interfaces: ['lo'], snaplen: 0 }, 'snaplen must be an integer from 1 to 262144 (got 0)'],
      [{ interfaces: ['lo'], snaplen: 1.5 }, 'snaplen must be an integer from 1 to 262144 (got 1.5)'],
      [{ interfaces: ['lo'], bufferSize: 1000 }, 'capture buffer size must be an integer from 65536 to 2147483647 bytes (got 1000)'],
    ] as const) {
      const err = await errorOf(openLive({ ...opts, interfaces: [...opts.interfaces] }, deps));
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toBe(msg);
    }
    expect(loaded).toBe(0);
  });
});

describe('localAddresses', () => {
  it("lo: 127.0.0.1 (and ::1 when the host has it), canonical text, sorted", () => {
    const lo = localAddresses(['lo']);
    expect(lo).toContain('127.0.0.1');
    const osLo = (networkInterfaces().lo ?? []).map((a) => a.address);
    if (osLo.includes('::1')) expect(lo).toContain('::1');
    expect(lo).toEqual([...new Set(lo)].sort());
  });
  it('any: every interface, IPv6 lower-case without zone', () => {
    const all = localAddresses(['any']);
    for (const a of localAddresses(['lo'])) expect(all).toContain(a);
    const expected = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') expected.add(a.address);
    for (const a of expected) expect(all).toContain(a);
    for (const a of all) {
      expect(a).not.toContain('%');
      expect(a).toBe(a.toLowerCase());
    }
  });
  it('an unknown interface contributes nothing', () => {
    expect(localAddresses(['nm-nope0'])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Real capture (root)

/** Frames are valid only during the callback (as with the file readers): kept ones are copied. */
function keep(frames: RawFrame[]): (f: RawFrame) => void {
  return (f) => frames.push({ ...f, data: f.data.slice() });
}

function track(c: LiveCapture): LiveCapture {
  cleanups.push(() => c.close());
  return c;
}

describe('openLive on real interfaces (root)', () => {
  rootIt('lo: TCP on 127.0.0.1 arrives as Ethernet frames, filtered, with kernel timestamps, counted', async () => {
    requireRoot();
    const srv = await echoServer();
    const udp = createSocket('udp4');
    cleanups.push(() => udp.close());
    try {
      const live = track(await openLive({ interfaces: ['lo'], filter: `tcp port ${srv.port}` }));
      expect(live.interfaces).toEqual([{ name: 'lo', linkType: 1, interfaceId: 0 }]);
      const frames: RawFrame[] = [];
      let reused = 0;
      let last: RawFrame | undefined;
      live.start((f) => {
        if (f === last) reused++;
        last = f;
        keep(frames)(f);
      });
      const t0 = Date.now();
      const a = `netmatrix-live-A-${process.pid}-${t0}`;
      const b = `netmatrix-live-B-${process.pid}-${t0}`;
      await srv.exchange(a);
      // Traffic the filter must drop: UDP to another port.
      await new Promise<void>((r) => udp.send(Buffer.from('not-for-us'), srv.port + 1 === 65536 ? 1 : srv.port + 1, '127.0.0.1', () => r()));
      await srv.exchange(b);
      const A = Buffer.from(a);
      const B = Buffer.from(b);
      // Each message goes out and comes back: at least 2 frames carry it.
      await waitFor('both payloads', () => frames.filter((f) => contains(f.data, A)).length >= 2 && frames.filter((f) => contains(f.data, B)).length >= 2);
      await waitFor('FINs', () => frames.length >= 20, 2000).catch(() => undefined);
      const t1 = Date.now();

      // One frame object refilled per frame, as the file readers do.
      expect(reused).toBe(frames.length - 1);
      expect(frames.filter((f) => contains(f.data, A)).length).toBeGreaterThanOrEqual(2);
      expect(frames.some((f) => contains(f.data, Buffer.from('not-for-us')))).toBe(false);
      // Two connections, each with SYN, SYN-ACK, ACK, data and echo, FINs: well over 14 frames.
      expect(frames.length).toBeGreaterThanOrEqual(14);
      let prev = 0;
      frames.forEach((f, i) => {
        expect(f.linkType).toBe(1);
        expect(f.interfaceId).toBe(0);
        expect(f.offset).toBe(i);
        expect(f.caplen).toBe(f.data.length);
        expect(f.origLen).toBe(f.caplen);
        expect(f.data).toBeInstanceOf(Uint8Array);
        // Not a Buffer: a consumer's slice() must copy, not make a view of the batch buffer.
        expect(Buffer.isBuffer(f.data)).toBe(false);
        // lo in libpcap: Ethernet header with zero MACs, then IPv4.
        expect([...f.data.subarray(0, 12)]).toEqual(new Array(12).fill(0));
        expect((f.data[12]! << 8) | f.data[13]!).toBe(0x0800);
        const ports = tcpPorts(f.data, 14);
        expect(ports).toBeDefined();
        expect(ports!.includes(srv.port)).toBe(true);
        expect(Number.isInteger(f.tsSec) && Number.isInteger(f.tsNsec)).toBe(true);
        expect(f.tsNsec).toBeGreaterThanOrEqual(0);
        expect(f.tsNsec).toBeLessThan(1e9);
        const ms = f.tsSec * 1000 + f.tsNsec / 1e6;
        expect(ms).toBeGreaterThanOrEqual(t0 - 1000);
        expect(ms).toBeLessThanOrEqual(t1 + 1000);
        expect(ms).toBeGreaterThanOrEqual(prev);
        prev = ms;
      });

      const [st] = live.stats();
      // Each packet counted once on lo (the binding has the kernel skip outgoing copies); received can
      // only run ahead of captured by frames still waiting in the ring.
      expect(st).toEqual({ name: 'lo', linkType: 1, received: st!.received, captured: frames.length, dropped: 0, ifDropped: 0, discarded: 0 });
      expect(st!.received).toBeGreaterThanOrEqual(frames.length);
      expect(st!.received).toBeLessThan(2 * frames.length);
      live.close();
      const n = frames.length;
      const atClose = live.stats()[0]!;
      await srv.exchange('after close');
      await new Promise((r) => setTimeout(r, 200));
      expect(frames.length).toBe(n);
      // After close: the totals as they were at close.
      expect(live.stats()[0]).toEqual(atClose);
      expect(atClose.captured).toBe(n);
      live.close(); // idempotent
    } finally {
      await srv.close();
    }
  });

  rootIt('frames that arrive between openLive and start() are delivered by start(), in order', async () => {
    requireRoot();
    const srv = await echoServer();
    try {
      const live = track(await openLive({ interfaces: ['lo'], filter: `tcp port ${srv.port}` }));
      const msg = `netmatrix-backlog-${process.pid}`;
      await srv.exchange(msg);
      await new Promise((r) => setTimeout(r, 300));
      expect(live.stats()[0]!.captured).toBeGreaterThanOrEqual(7);
      const frames: RawFrame[] = [];
      live.start(keep(frames));
      expect(frames.length).toBe(live.stats()[0]!.captured);
      expect(frames.filter((f) => contains(f.data, Buffer.from(msg))).length).toBeGreaterThanOrEqual(2);
      expect(frames.map((f) => f.offset)).toEqual(frames.map((_, i) => i));
      // Each frame has its own bytes (not views of one buffer): the headers differ.
      expect(new Set(frames.map((f) => Buffer.from(f.data.subarray(0, 54)).toString('hex'))).size).toBeGreaterThan(frames.length / 2);
      expect(() => live.start(() => undefined)).toThrow(/already started/);
      live.close();
    } finally {
      await srv.close();
    }
  });

  rootIt('-i any: Linux cooked frames (SLL or SLL2) carrying the payload; two interfaces get ids 0 and 1', async () => {
    requireRoot();
    const srv = await echoServer();
    try {
      const live = track(await openLive({ interfaces: ['any', 'lo'], filter: `tcp port ${srv.port}` }));
      expect(live.interfaces.map((i) => [i.name, i.interfaceId])).toEqual([
        ['any', 0],
        ['lo', 1],
      ]);
      const anyLt = live.interfaces[0]!.linkType;
      expect([113, 276]).toContain(anyLt);
      expect(live.interfaces[1]!.linkType).toBe(1);
      const frames: RawFrame[] = [];
      live.start(keep(frames));
      const msg = `netmatrix-any-${process.pid}`;
      const M = Buffer.from(msg);
      await srv.exchange(msg);
      await waitFor('payload on both', () => frames.some((f) => f.interfaceId === 0 && contains(f.data, M)) && frames.some((f) => f.interfaceId === 1 && contains(f.data, M)));
      for (const f of frames.filter((x) => x.interfaceId === 0)) {
        expect(f.linkType).toBe(anyLt);
        // SLL: protocol at 14, IP at 16; SLL2: protocol at 0, IP at 20.
        const [proto, ip] = anyLt === 113 ? [(f.data[14]! << 8) | f.data[15]!, 16] : [(f.data[0]! << 8) | f.data[1]!, 20];
        expect(proto).toBe(0x0800);
        expect(tcpPorts(f.data, ip)!.includes(srv.port)).toBe(true);
      }
      const st = live.stats();
      expect(st.map((s) => [s.name, s.linkType, s.dropped])).toEqual([
        ['any', anyLt, 0],
        ['lo', 1, 0],
      ]);
      expect(st[0]!.captured).toBe(frames.filter((f) => f.interfaceId === 0).length);
      expect(st[1]!.captured).toBe(frames.filter((f) => f.interfaceId === 1).length);
      expect(st[0]!.captured).toBeGreaterThan(0);
      live.close();
    } finally {
      await srv.close();
    }
  });

  rootIt('snaplen cuts frames; origLen is the wire length from libpcap', async () => {
    requireRoot();
    const srv = await echoServer();
    try {
      const live = track(await openLive({ interfaces: ['lo'], filter: `tcp port ${srv.port}`, snaplen: 60 }));
      const frames: RawFrame[] = [];
      live.start(keep(frames));
      const msg = `netmatrix-snaplen-${'x'.repeat(200)}`;
      await srv.exchange(msg);
      await waitFor('frames', () => frames.length >= 7);
      expect(Math.max(...frames.map((f) => f.caplen))).toBe(60);
      for (const f of frames) {
        expect(f.data.length).toBe(f.caplen);
        expect(f.caplen).toBeLessThanOrEqual(60);
        // The IPv4 total length + 14 bytes of (zero) Ethernet header is the frame on the wire.
        expect(f.origLen).toBe(14 + ((f.data[16]! << 8) | f.data[17]!));
        expect(f.origLen).toBeGreaterThanOrEqual(f.caplen);
      }
      // The data segments (the 218-byte message) were longer than the snaplen.
      expect(frames.filter((f) => f.origLen >= 14 + 20 + 20 + msg.length).length).toBeGreaterThanOrEqual(2);
      expect(frames.some((f) => contains(f.data, Buffer.from(msg)))).toBe(false);
      live.close();
    } finally {
      await srv.close();
    }
  });

  rootIt('a bad BPF filter: one line naming the filter and libpcap\'s message, exit 2', async () => {
    requireRoot();
    const err = await errorOf(openLive({ interfaces: ['lo'], filter: 'tcp and and', bufferSize: 1 << 20 }));
    expect(err.code).toBe('live-filter');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('bad capture filter "tcp and and": can\'t parse filter expression: syntax error');
    const err2 = await errorOf(openLive({ interfaces: ['lo'], filter: 'tcp port nosuchservicename', bufferSize: 1 << 20 }));
    expect(err2.code).toBe('live-filter');
    expect(err2.message).toBe('bad capture filter "tcp port nosuchservicename": unknown port \'nosuchservicename\'');
  });

  rootIt('an unknown interface: "no such interface: NAME (available: ...)", exit 2', async () => {
    requireRoot();
    const err = await errorOf(openLive({ interfaces: ['lo', 'nm-nope0'] }));
    expect(err.code).toBe('live-no-interface');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^no such interface: nm-nope0 \(available: any, [^\n]*\)$/);
    expect(err.message.slice(err.message.indexOf('(available: ') + 12, -1).split(', ')).toContain('lo');
  });
});

// ---------------------------------------------------------------------------------------------
// Child processes: as user nobody, and inside a network namespace

/**
 * src/ transpiled to plain ESM in a folder readable by `nobody` (node cannot run .ts), with a copy
 * of the cap package (its JavaScript and the compiled addon) so that `import('cap')` resolves.
 * Copied, not linked: the checkout itself may sit in a folder only root can enter (a clone into
 * `mktemp -d`), and nobody must not need to read it. Follows relative imports from live.ts.
 */
function buildChildTree(): string {
  const out = mkdtempSync(join(tmpdir(), 'netmatrix-live-'));
  chmodSync(out, 0o755);
  cleanups.push(() => rmSync(out, { recursive: true, force: true }));
  const srcRoot = join(ROOT_DIR, 'src');
  const todo = [join(srcRoot, 'capture/live.ts')];
  const done = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const text = readFileSync(file, 'utf8');
    const js = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: file,
    }).outputText;
    const dest = join(out, relative(srcRoot, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    writeFileSync(dest, js, { mode: 0o644 });
    for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.[^']+)\.js';/gms)) {
      todo.push(resolve(dirname(file), `${m[1]}.ts`));
    }
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n', { mode: 0o644 });
  const cap = join(ROOT_DIR, 'node_modules', 'cap');
  const capCopy = join(out, 'node_modules', 'cap');
  for (const part of ['package.json', 'lib', 'build/Release/cap.node']) {
    mkdirSync(dirname(join(capCopy, part)), { recursive: true, mode: 0o755 });
    cpSync(join(cap, part), join(capCopy, part), { recursive: true });
  }
  spawnSync('chmod', ['-R', 'a+rX', join(out, 'node_modules')]);
  // What the CLI does with an error: its message on one line, exit with its exitCode.
  writeFileSync(
    join(out, 'open.js'),
    `import { openLive } from './capture/live.js';
const [names, filter] = JSON.parse(process.argv[2]);
try {
  const live = await openLive({ interfaces: names, ...(filter ? { filter } : {}), bufferSize: 1 << 20 });
  process.stdout.write(JSON.stringify(live.interfaces) + '\\n');
  live.close();
  process.exit(0);
} catch (e) {
  process.stderr.write((e instanceof Error ? e.message : String(e)) + '\\n');
  process.exit(typeof e?.exitCode === 'number' ? e.exitCode : 99);
}
`,
    { mode: 0o644 },
  );
  return out;
}

let childTree: string | undefined;
function child(prefix: string[], names: string[], filter?: string): { status: number | null; stdout: string; stderr: string } {
  childTree ??= buildChildTree();
  const cmd = [...prefix, process.execPath, join(childTree, 'open.js'), JSON.stringify([names, filter ?? ''])];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const AS_NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];

describe('privileges (root, to become nobody)', () => {
  rootIt('as nobody: "permission denied opening lo: ...", exit 2', () => {
    requireRoot();
    const r = child([...AS_NOBODY, '--inh-caps=-all'], ['lo']);
    expect(r.stderr).toBe('permission denied opening lo: run as root or give node CAP_NET_RAW\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });

  rootIt('as nobody, an unknown name is still reported as unknown (not as a permission problem)', () => {
    requireRoot();
    const r = child(AS_NOBODY, ['nm-nope0']);
    expect(r.stderr).toMatch(/^no such interface: nm-nope0 \(available: any, [^\n]*\)\n$/);
    expect(r.status).toBe(2);
  });

  rootIt('as nobody with CAP_NET_RAW (what the message advises): lo opens', () => {
    requireRoot();
    const r = child([...AS_NOBODY, '--inh-caps=+net_raw', '--ambient-caps=+net_raw'], ['lo']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([{ name: 'lo', linkType: 1, interfaceId: 0 }]);
    expect(r.status).toBe(0);
  });
});

describe('link types of other interfaces (root, network namespace)', () => {
  rootIt('tun -> RAW (101), veth -> Ethernet (1), a down interface -> one line, exit 2', () => {
    requireRoot();
    const ns = `nm-t-live-${process.pid}`;
    const ip = (...args: string[]): void => {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    };
    ip('netns', 'add', ns);
    cleanups.push(() => spawnSync('ip', ['netns', 'del', ns]));
    ip('-n', ns, 'tuntap', 'add', 'dev', 'nmtun0', 'mode', 'tun');
    ip('-n', ns, 'link', 'set', 'nmtun0', 'up');
    ip('-n', ns, 'link', 'add', 'nmveth0', 'type', 'veth', 'peer', 'name', 'nmveth1');
    ip('-n', ns, 'link', 'set', 'nmveth0', 'up');
    ip('-n', ns, 'link', 'set', 'nmveth1', 'up');
    const inNs = ['ip', 'netns', 'exec', ns];

    const r = child(inNs, ['nmtun0', 'nmveth0']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { name: 'nmtun0', linkType: 101, interfaceId: 0 },
      { name: 'nmveth0', linkType: 1, interfaceId: 1 },
    ]);
    // cap 0.2.1 printed a warning for interfaces without an IPv4 address; ours prints nothing.
    expect(r.stderr).toBe('');

    // lo exists in the namespace but is down.
    const down = child(inNs, ['lo']);
    expect(down.status).toBe(2);
    expect(down.stderr).toBe('cannot capture on lo: That device is not up\n');

    // The host's interfaces are not there: listed as unknown with what the namespace has.
    const gone = child(inNs, ['eth0']);
    expect(gone.status).toBe(2);
    expect(gone.stderr.trim()).toBe('no such interface: eth0 (available: any, lo, nmtun0, nmveth0, nmveth1)');
  });
});
