import { describe, expect, it } from 'vitest';
import { probeWireGuard } from '../../src/classify/wireguard.js';
import type { ProbeResult, WireGuardInfo } from '../../src/classify/probe.js';
import { udpDatagrams } from '../helpers/captures.js';
import { corpusDescribe } from '../helpers/corpus.js';
import { Rng } from '../helpers/random.mjs';

function matchInfo<T>(r: ProbeResult<T>): T {
  if (r.status !== 'match') throw new Error(`expected match, got ${r.status}`);
  return r.info;
}

function msg(type: number, len: number): Uint8Array {
  const b = new Uint8Array(len).fill(0x5a);
  if (len > 0) b[0] = type;
  for (let i = 1; i < 4 && i < len; i++) b[i] = 0;
  return b;
}

corpusDescribe('probeWireGuard on real captures', () => {
  it('nDPI wireguard.pcap (pcapng): 2 initiations, 2 responses, 48 transport messages, indexes as tshark reads them', () => {
    const dgrams = udpDatagrams('ndpi_wireguard.pcap');
    expect(dgrams.length).toBe(52);
    const counts = [0, 0, 0, 0, 0];
    const infos: WireGuardInfo[] = [];
    for (const d of dgrams) {
      const info = matchInfo(probeWireGuard(d.payload));
      counts[info.messageType] = (counts[info.messageType] ?? 0) + 1;
      infos.push(info);
    }
    expect(counts).toEqual([0, 2, 2, 0, 48]);
    // tshark: frame 1 initiation sender 0x30d037d8; frame 2 response sender 0xab7df406 receiver 0x30d037d8
    expect(infos[0]).toEqual({ messageType: 1, senderIndex: 0x30d037d8 });
    expect(infos[1]).toEqual({ messageType: 2, senderIndex: 0xab7df406, receiverIndex: 0x30d037d8 });
    expect(infos[2]).toEqual({ messageType: 4, receiverIndex: 0xab7df406 });
    expect(infos[3]).toEqual({ messageType: 4, receiverIndex: 0x30d037d8 });
  });

  it('keepalives are exactly 32 bytes (frames 9 and 16, UDP length 40)', () => {
    const dgrams = udpDatagrams('ndpi_wireguard.pcap');
    const keepalives = dgrams.filter((d) => d.payload.length === 32);
    expect(keepalives.map((d) => d.index)).toEqual([9, 16]);
    for (const k of keepalives) expect(matchInfo(probeWireGuard(k.payload)).messageType).toBe(4);
  });

  it('Tailscale on 41641: 46 transport messages match, the 61 disco packets ("TS💬") do not', () => {
    const dgrams = udpDatagrams('ndpi_tailscale.pcap', 41641);
    expect(dgrams.length).toBe(107);
    let wg = 0;
    let disco = 0;
    for (const d of dgrams) {
      const r = probeWireGuard(d.payload);
      if (r.status === 'match') {
        wg++;
        expect(r.info.messageType).toBe(4);
        expect([0x7a3ec898, 0x90e351fb]).toContain(r.info.receiverIndex);
      } else {
        expect(r.status).toBe('no');
        expect(Buffer.from(d.payload.subarray(0, 6)).toString('utf8')).toBe('TS\u{1f4ac}');
        disco++;
      }
    }
    expect([wg, disco]).toEqual([46, 61]);
  });

  it("other UDP (DNS, mDNS, NTP...) is 'no'", () => {
    const others = [...udpDatagrams('ndpi_android.pcap'), ...udpDatagrams('zeek_pcapng_multi_interface.pcapng')];
    expect(others.length).toBeGreaterThan(50);
    for (const d of others) expect(probeWireGuard(d.payload).status, `frame ${d.index}`).toBe('no');
  });
});

describe('probeWireGuard: length and header rules', () => {
  it('exact lengths for handshake messages', () => {
    expect(matchInfo(probeWireGuard(msg(1, 148))).messageType).toBe(1);
    expect(probeWireGuard(msg(1, 147)).status).toBe('no');
    expect(probeWireGuard(msg(1, 149)).status).toBe('no');
    expect(matchInfo(probeWireGuard(msg(2, 92))).messageType).toBe(2);
    expect(probeWireGuard(msg(2, 91)).status).toBe('no');
    expect(probeWireGuard(msg(2, 93)).status).toBe('no');
    expect(matchInfo(probeWireGuard(msg(3, 64)))).toEqual({ messageType: 3, receiverIndex: 0x5a5a5a5a });
    expect(probeWireGuard(msg(3, 63)).status).toBe('no');
    expect(probeWireGuard(msg(3, 65)).status).toBe('no');
  });

  it('transport data: 32 or more, not necessarily a multiple of 16', () => {
    expect(probeWireGuard(msg(4, 31)).status).toBe('no');
    for (const len of [32, 33, 47, 48, 1452]) expect(matchInfo(probeWireGuard(msg(4, len))).messageType, `len ${len}`).toBe(4);
  });

  it('reserved bytes must be zero, type 1..4', () => {
    for (let i = 1; i < 4; i++) {
      const b = msg(1, 148);
      b[i] = 1;
      expect(probeWireGuard(b).status, `reserved byte ${i}`).toBe('no');
    }
    expect(probeWireGuard(msg(0, 148)).status).toBe('no');
    expect(probeWireGuard(msg(5, 148)).status).toBe('no');
    expect(probeWireGuard(msg(0x14, 148)).status).toBe('no');
  });

  it('empty payload is need-more; 1..3 bytes are no', () => {
    expect(probeWireGuard(new Uint8Array(0)).status).toBe('need-more');
    for (let n = 1; n <= 3; n++) expect(probeWireGuard(msg(4, n)).status).toBe('no');
  });

  it('5,000 random datagrams never throw; only well-formed headers match', () => {
    const rng = new Rng(0x51820);
    const next = (): number => rng.u32();
    for (let i = 0; i < 5000; i++) {
      const b = rng.bytes(next() % 1500);
      if (i % 2 === 0 && b.length >= 4) {
        b[0] = 1 + (next() % 4);
        b[1] = b[2] = b[3] = 0;
      }
      const r = probeWireGuard(b);
      const t = b[0] ?? 0;
      const n = b.length;
      const ok =
        n >= 4 &&
        b[1] === 0 &&
        b[2] === 0 &&
        b[3] === 0 &&
        ((t === 1 && n === 148) || (t === 2 && n === 92) || (t === 3 && n === 64) || (t === 4 && n >= 32));
      expect(r.status).toBe(n === 0 ? 'need-more' : ok ? 'match' : 'no');
    }
  });
});
