/**
 * Robustness: random and mutated frames never make the decoder throw, its counters stay consistent
 * and the fragment memory bound holds.
 */
import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/decode/decoder.js';
import { SUPPORTED_LINK_TYPES } from '../../src/decode/link.js';
import {
  ayiya,
  bytes,
  eth,
  ext6,
  fabricpath,
  frag6,
  frame,
  gre,
  gtp,
  ipv4,
  ipv6,
  mpls,
  packetInvariants,
  pbb,
  pppFrame,
  pppoe,
  radiotap,
  sll,
  sll2,
  tcp,
  teredo,
  udp,
  vntag,
  vxlan,
  wifi,
} from '../helpers/frames.js';
import { floats } from '../helpers/random.mjs';

function randomLength(r: () => number): number {
  const x = r();
  if (x < 0.1) return Math.floor(r() * 4); // 0..3: shorter than any link header
  if (x < 0.8) return Math.floor(r() * 128);
  return Math.floor(r() * 2048);
}

function check(decoder: Decoder, n: number, maxBytes: number): void {
  const s = decoder.stats;
  expect(s.internalErrors).toBe(0);
  expect(s.frames).toBe(n);
  expect(s.byKind.packet + s.byKind.fragment + s.byKind.skip + s.byKind.malformed).toBe(n);
  expect(s.malformedReasons.size).toBeLessThanOrEqual(64);
  expect(s.skipReasons.size).toBeLessThanOrEqual(64);
  expect(decoder.reassembler.bufferedBytes).toBeLessThanOrEqual(maxBytes);
  expect(decoder.reassembler.bufferedBytes).toBeGreaterThanOrEqual(0);
}

describe('random bytes', () => {
  it.each([...SUPPORTED_LINK_TYPES])('link type %i: 10,000 random frames never throw', (lt) => {
    const r = floats(0xdec0de + lt);
    const maxBytes = 64 * 1024;
    const decoder = new Decoder({ fragments: { maxBytes, maxDatagrams: 64 } });
    const N = 10_000;
    const bad: number[] = [];
    for (let i = 0; i < N; i++) {
      const data = new Uint8Array(randomLength(r));
      for (let j = 0; j < data.length; j++) data[j] = Math.floor(r() * 256);
      // Steer some frames past the link layer so the IP decoders see random bytes too.
      if (data.length > 24 && r() < 0.5) {
        const v = r() < 0.5 ? 0x45 : 0x60;
        if (lt === 1) {
          data[12] = v === 0x45 ? 0x08 : 0x86;
          data[13] = v === 0x45 ? 0x00 : 0xdd;
          data[14] = v;
        } else if (lt === 113) {
          data[14] = v === 0x45 ? 0x08 : 0x86;
          data[15] = v === 0x45 ? 0x00 : 0xdd;
          data[16] = v;
        } else if (lt === 276) {
          data[0] = v === 0x45 ? 0x08 : 0x86;
          data[1] = v === 0x45 ? 0x00 : 0xdd;
          data[20] = v;
        } else if (lt === 0 || lt === 108) {
          data.set(lt === 0 ? [v === 0x45 ? 2 : 30, 0, 0, 0] : [0, 0, 0, v === 0x45 ? 2 : 30], 0);
          data[4] = v;
        } else {
          data[0] = v;
        }
      }
      let threw: unknown;
      try {
        const o = decoder.decode(frame(lt, data, 1000 + i * 0.01));
        if (o.kind === 'packet' && !packetInvariants(o.packet)) bad.push(i);
      } catch (e) {
        threw = e;
      }
      if (threw !== undefined) throw new Error(`link type ${lt} frame ${i} threw: ${String(threw)}`);
    }
    expect(bad).toEqual([]);
    check(decoder, N, maxBytes);
  });
});

describe('mutated valid frames', () => {
  const payload = new Uint8Array(64).fill(0x61);
  const templates: [number, Uint8Array][] = [
    [1, eth(0x0800, ipv4({ proto: 6 }, tcp({ hl: 32 }, payload)))],
    [1, eth(0x0800, ipv4({ proto: 17, mf: true, id: 3 }, udp({}, payload)))],
    [1, eth(0x0800, ipv4({ proto: 17, fragOffset: 64, id: 3 }, payload))],
    [1, eth(0x86dd, ipv6({ nh: 0 }, bytes(ext6(43, 1), ext6(44), frag6(60, 0, false, 9), ext6(6), tcp({}, payload))), [[0x8100, 1]])],
    [113, sll(0x86dd, ipv6({ nh: 44 }, bytes(frag6(17, 0, true, 77), udp({ len: 200 }, payload))))],
    [276, sll2(0x86dd, ipv6({ nh: 44 }, bytes(frag6(17, 72, false, 77), payload)))],
    [0, bytes([30, 0, 0, 0], ipv6({ nh: 17 }, udp({}, payload)))],
    [108, bytes([0, 0, 0, 2], ipv4({ proto: 1 }, payload))],
    [101, ipv4({ proto: 6, options: [1, 1, 1, 1] }, tcp({}, payload))],
    [228, ipv4({ proto: 17 }, udp({}, payload))],
    [229, ipv6({ nh: 51 }, bytes([6, 4], new Array<number>(22).fill(0), tcp({}, payload)))],
    // Encapsulations and tunnels.
    [1, eth(0x8847, mpls([1, 2], ipv4({ proto: 6 }, tcp({}, payload))), [[0x8100, 1]])],
    [1, eth(0x8864, pppoe(0x0057, ipv6({ nh: 17 }, udp({}, payload))), [[0x88a8, 1], [0x8100, 2]])],
    [1, eth(0x88e7, pbb(0x0800, ipv4({ proto: 6 }, tcp({}, payload))))],
    [1, eth(0x8926, vntag(0x8100, bytes([0, 3, 0x08, 0x00], ipv4({ proto: 17 }, udp({}, payload)))), [[0x8100, 1]])],
    [1, fabricpath(eth(0x0800, ipv4({ proto: 6 }, tcp({}, payload))))],
    [9, pppFrame(0x0021, ipv4({ proto: 6 }, tcp({}, payload)))],
    [105, wifi(0x86dd, ipv6({ nh: 6 }, tcp({}, payload)), { qos: true, fourAddresses: true })],
    [127, radiotap(wifi(0x0800, ipv4({ proto: 17 }, udp({}, payload))), 12)],
    [101, ipv4({ proto: 47 }, gre({ flags: 0x1000, protocol: 0x22eb }, bytes([0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], new Uint8Array(8), eth(0x0800, ipv4({ proto: 6 }, tcp({}, payload))))))],
    [101, ipv4({ proto: 47 }, gre({ version: 1, flags: 0x3080, protocol: 0x880b }, bytes([0xff, 0x03, 0x00, 0x21], ipv4({ proto: 6 }, tcp({}, payload)))))],
    [101, ipv6({ nh: 4 }, ipv4({ proto: 41 }, ipv6({ nh: 17 }, udp({}, payload))))],
    [101, ipv4({ proto: 17 }, udp({ sport: 40000, dport: 4789 }, vxlan(eth(0x0800, ipv4({ proto: 6 }, tcp({}, payload))))))],
    [101, ipv4({ proto: 17 }, udp({ sport: 2152, dport: 2152 }, gtp(ipv4({ proto: 17 }, udp({ sport: 3544, dport: 40000 }, teredo(ipv6({ nh: 6 }, tcp({}, payload)), true))), { seq: true })))],
    [101, ipv4({ proto: 17 }, udp({ sport: 40000, dport: 5072 }, ayiya(41, ipv6({ nh: 17 }, udp({}, payload)))))],
  ];

  it('100,000 mutations of valid frames never throw; the fragment cap holds', () => {
    const r = floats(42);
    const maxBytes = 8 * 1024;
    const decoder = new Decoder({ fragments: { maxBytes, maxDatagrams: 16, timeoutSec: 5 } });
    const N = 100_000;
    const bad: number[] = [];
    let peak = 0;
    for (let i = 0; i < N; i++) {
      const [lt, tmpl] = templates[Math.floor(r() * templates.length)]!;
      const data = tmpl.slice();
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) data[Math.floor(r() * data.length)] = Math.floor(r() * 256);
      const cut = r() < 0.3 ? Math.floor(r() * data.length) : data.length;
      const o = decoder.decode(frame(lt, data.subarray(0, cut), 1000 + i * 0.001));
      if (o.kind === 'packet' && !packetInvariants(o.packet)) bad.push(i);
      // The packets inside UDP tunnels, as the engine takes them.
      for (let inner = decoder.decodeInner(); inner !== undefined; inner = decoder.decodeInner()) {
        if (inner.kind === 'packet' && !packetInvariants(inner.packet)) bad.push(i);
      }
      peak = Math.max(peak, decoder.reassembler.bufferedBytes);
    }
    expect(bad).toEqual([]);
    check(decoder, N, maxBytes);
    expect(peak).toBeLessThanOrEqual(maxBytes);
    // The mutations reach every outcome.
    const k = decoder.stats.byKind;
    expect(k.packet).toBeGreaterThan(0);
    expect(k.fragment).toBeGreaterThan(0);
    expect(k.skip).toBeGreaterThan(0);
    expect(k.malformed).toBeGreaterThan(0);
    expect(decoder.stats.fragments.fragments).toBeGreaterThan(0);
    const inner = decoder.stats.inner;
    expect(inner.packet).toBeGreaterThan(0);
    expect(inner.malformed + inner.skip).toBeGreaterThan(0);
    expect(decoder.stats.encapsulations.size).toBeGreaterThanOrEqual(12);
  });
});
