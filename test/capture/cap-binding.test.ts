/**
 * The patched binding (native/cap) itself, driven directly in a child process so that a crash shows
 * up as a signal instead of taking the test runner down. The reproducers of cap 0.2.1's crashes:
 * a failed open() then close() and garbage collection (uv_poll_stop on a poll handle never
 * initialised), collection after close, 300 open/close cycles (no descriptor or handle left behind),
 * the Buffer unreachable from JavaScript while libpcap writes into it, close() inside the packet
 * callback; and the use of a closed handle, which must throw instead of touching freed memory.
 * Capturing on lo needs root: CI runs as root; elsewhere without root these tests are skipped.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const CAP = resolve('node_modules/cap');

/** Runs `body` (CommonJS, with `Cap`, `gc`, `udp(n, port)` and `sleep(ms)` in scope) in a child with --expose-gc. */
function run(body: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const script = `
    const { Cap } = require(${JSON.stringify(CAP)});
    const dgram = require('dgram');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    async function udp(n, port) {
      const s = dgram.createSocket('udp4');
      for (let i = 0; i < n; i++) await new Promise((r) => s.send(Buffer.alloc(200, i & 255), port, '127.0.0.1', r));
      s.close();
    }
    (async () => { ${body} })().then(() => { console.log('ok'); process.exit(0); }, (e) => { console.error(e && e.stack || e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function expectClean(r: ReturnType<typeof run>): void {
  expect(r.signal, r.stderr).toBeNull();
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout.trim().split('\n').at(-1)).toBe('ok');
}

describe.runIf(isRoot || Boolean(process.env.CI))('native/cap lifetime (root)', () => {
  it('a failed open() throws libpcap\'s message and leaves nothing to crash on: close(), collection', () => {
    const r = run(`
      for (let i = 0; i < 50; i++) {
        const c = new Cap();
        let msg = '';
        try { c.open('nm-nope0', '', 1 << 20, Buffer.alloc(65535)); } catch (e) { msg = e.message; }
        if (!/No such device|doesn't exist/i.test(msg)) throw new Error('unexpected: ' + msg);
        if (c.close() !== false) throw new Error('close() of a failed handle must say false');
        let bad = '';
        try { c.open('lo', 'tcp and and', 1 << 20, Buffer.alloc(65535)); } catch (e) { bad = e.message; }
        if (!/syntax error/.test(bad)) throw new Error('filter: ' + bad);
      }
      for (let i = 0; i < 5; i++) { gc(); await sleep(10); }
      // A failed open leaves the object usable: it opens for real afterwards.
      const c = new Cap();
      try { c.open('nm-nope0', '', 1 << 20, Buffer.alloc(100)); } catch {}
      c.open('lo', '', 1 << 20, Buffer.alloc(100));
      c.close();`);
    expectClean(r);
  });

  it('300 open/close cycles leave no descriptor behind; collection after close', () => {
    const r = run(`
      const fds = () => require('fs').readdirSync('/proc/self/fd').length;
      const before = fds();
      for (let i = 0; i < 300; i++) {
        const c = new Cap();
        c.on('packets', () => {});
        c.open('lo', 'udp port 9', 1 << 20, Buffer.alloc(1 << 16), { snaplen: 256, immediate: i % 2 === 0, timeout: 10, nanoseconds: true, batch: i % 3 !== 0 });
        if (i % 50 === 0) await sleep(5);
        if (c.close() !== true) throw new Error('close() of an open handle must say true');
        if (c.close() !== false) throw new Error('second close() must say false');
      }
      for (let i = 0; i < 5; i++) { gc(); await sleep(10); }
      const after = fds();
      if (after > before + 2) throw new Error('descriptors: ' + before + ' -> ' + after);`);
    expectClean(r);
  });

  it('the Buffer unreachable from JavaScript while capturing: the binding holds it (no write after free)', () => {
    const r = run(`
      const c = new Cap();
      let seen = 0, bytes = 0;
      c.on('packet', (nbytes, truncated, origLen, sec, nsec) => {
        seen++; bytes += nbytes;
        if (nbytes !== 242 || truncated || origLen !== 242) throw new Error('frame ' + nbytes + ' ' + origLen);
        if (!(sec > 1.6e9) || !(nsec >= 0 && nsec < 1e9)) throw new Error('time ' + sec + ' ' + nsec);
      });
      // Only the binding keeps this Buffer.
      c.open('lo', 'udp port 9011', 8 << 20, Buffer.alloc(65535), { timeout: 10, immediate: false });
      for (let round = 0; round < 20; round++) {
        gc();
        const junk = []; for (let i = 0; i < 2000; i++) junk.push(Buffer.alloc(4096, 0xee)); // reuse freed memory
        await udp(50, 9011);
        await sleep(5);
      }
      await sleep(100);
      const st = c.stats();
      c.close();
      if (seen !== 1000 || st.dropped !== 0) throw new Error('seen ' + seen + ' dropped ' + st.dropped);`);
    expectClean(r);
  });

  it('close() inside the packet callback stops delivery at once; a closed handle throws instead of touching freed memory', () => {
    const r = run(`
      for (const batch of [false, true]) {
        const c = new Cap();
        const buf = Buffer.alloc(1 << 16);
        let calls = 0;
        c.on(batch ? 'packets' : 'packet', () => { calls++; c.close(); });
        c.open('lo', 'udp port 9012', 1 << 20, buf, { timeout: 10, batch });
        await udp(100, 9012);
        await sleep(100);
        gc();
        await udp(100, 9012);
        await sleep(100);
        if (calls !== 1) throw new Error('calls after close: ' + calls);
        for (const f of [() => c.stats(), () => c.send(Buffer.alloc(60)), () => c.timestampPrecision()]) {
          let msg = '';
          try { f(); } catch (e) { msg = e.message; }
          if (msg !== 'Not currently capturing/open') throw new Error('after close: ' + msg);
        }
      }
      const c = new Cap();
      c.open('lo', '', 1 << 20, Buffer.alloc(100));
      let again = '';
      try { c.open('lo', '', 1 << 20, Buffer.alloc(100)); } catch (e) { again = e.message; }
      if (again !== 'already open: close() first') throw new Error('reopen: ' + again);
      c.close();
      for (let i = 0; i < 5; i++) { gc(); await sleep(10); }`);
    expectClean(r);
  });

  it('batches: frames with kernel times and wire lengths, header fields as documented', () => {
    const r = run(`
      const c = new Cap();
      const buf = Buffer.alloc(1 << 16); // small: several batches for 300 frames
      const frames = [];
      c.on('packets', (count, used) => {
        let off = 0;
        for (let i = 0; i < count; i++) {
          const caplen = buf.readUInt32LE(off + 8);
          frames.push({ sec: buf.readUInt32LE(off), nsec: buf.readUInt32LE(off + 4), caplen, len: buf.readUInt32LE(off + 12), first: buf[off + 16 + 42] });
          off += 16 + ((caplen + 3) & ~3);
        }
        if (off !== used) throw new Error('used ' + used + ' parsed ' + off);
      });
      c.open('lo', 'udp port 9013', 8 << 20, buf, { snaplen: 100, immediate: false, timeout: 20, nanoseconds: true, batch: true });
      if (c.timestampPrecision() !== 'nano') throw new Error('precision ' + c.timestampPrecision());
      const t0 = Date.now() / 1000;
      await udp(300, 9013);
      await sleep(200);
      const st = c.stats();
      c.close();
      if (frames.length !== 300) throw new Error('frames ' + frames.length);
      frames.forEach((f, i) => {
        if (f.caplen !== 100 || f.len !== 242) throw new Error('lengths ' + f.caplen + ' ' + f.len);
        if (f.first !== (i & 255)) throw new Error('order ' + i + ' ' + f.first);
        const t = f.sec + f.nsec / 1e9;
        if (Math.abs(t - t0) > 5 || f.nsec >= 1e9) throw new Error('time ' + t + ' vs ' + t0);
      });
      // lo: the kernel is told to skip outgoing copies (libpcap would throw them away): each packet once.
      if (st.received !== 300 || st.dropped !== 0 || st.ifDropped !== 0) throw new Error('stats ' + JSON.stringify(st));`);
    expectClean(r);
  });
});
