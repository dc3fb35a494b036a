import { describe, expect, it } from 'vitest';
import { PAYLOAD_CLASSIFIERS } from '../../src/classify/classify.js';
import type { Packet } from '../../src/decode/packet.js';
import { FlowTable } from '../../src/flow/table.js';
import { inventoryFromFlags, parseInventory } from '../../src/policy/inventory.js';
import { Judge, type JudgedFlow } from '../../src/policy/judge.js';
import { loadRuleSet } from '../../src/policy/load.js';
import { H2_PREFACE, connection, icmp, ipProto, udp } from '../helpers/packets.js';
import { clientHello } from '../helpers/tls.js';

const NODE = '10.0.0.2';
const NODE2 = '10.0.0.3';
const RES = '10.0.0.1';
const VPN = '10.0.0.10';
const OUT = '203.0.113.66';

function judgeAll(packets: Packet[], matrix = 'native', tunnel: string[] = [], phase: 'run' | 'install' = 'run') {
  const inventory = inventoryFromFlags({ node: [NODE, NODE2, '10.78.0.2'], researcher: [RES, '10.78.0.1'], vpnserver: [VPN], tunnel });
  const judge = new Judge(loadRuleSet(matrix, phase), inventory);
  const flows: JudgedFlow[] = [];
  const table = new FlowTable({ isServicePort: judge.isServicePort }, (f) => flows.push(judge.judge(f)), PAYLOAD_CLASSIFIERS);
  for (const p of packets) table.add(p);
  table.flush();
  return { flows, capture: judge.captureFindings() };
}

const codes = (f: JudgedFlow | undefined): string[] => (f?.findings ?? []).map((x) => x.code);

const helloH2 = clientHello({ sni: 'researcher', alpn: ['h2'], tls13: true });
const helloNoAlpn = clientHello({ sni: 'researcher', tls13: true });
const helloHttp1 = clientHello({ sni: 'researcher', alpn: ['http/1.1'], tls13: true });

describe('native matrix (revision 001)', () => {
  it('gRPC/TLS from a node to the researcher is allowed by node-researcher-grpc', () => {
    const { flows, capture } = judgeAll(connection({ t0: 1, client: NODE, cport: 40000, server: RES, sport: 50051, request: helloH2 }));
    const f = flows[0];
    expect(f?.rule).toBe('node-researcher-grpc');
    expect(f?.verdict).toBe('allowed');
    expect(f?.service).toBe('tls');
    expect(f?.serviceBy).toBe('payload');
    expect(f?.tls).toMatchObject({ sni: 'researcher', alpn: ['h2'] });
    expect(f?.client).toMatchObject({ ip: NODE, role: 'node' });
    expect(f?.server).toMatchObject({ ip: RES, port: 50051, role: 'researcher' });
    expect(capture).toEqual([]);
  });

  it('the certificate fetch without ALPN and a bare liveness connect are not mismatches', () => {
    const { flows } = judgeAll([
      ...connection({ t0: 1, client: NODE, cport: 40001, server: RES, sport: 50051, request: helloNoAlpn }),
      ...connection({ t0: 2, client: NODE, cport: 40002, server: RES, sport: 50051 }),
    ]);
    expect(flows.map((f) => f.verdict)).toEqual(['allowed', 'allowed']);
    expect(flows[1]?.service).toBe('tls');
    expect(flows[1]?.serviceBy).toBe('port');
  });

  it('plaintext h2c on 50051 is a protocol mismatch; http/1.1-only ALPN too', () => {
    const { flows } = judgeAll([
      ...connection({ t0: 1, client: NODE, cport: 40000, server: RES, sport: 50051, request: H2_PREFACE }),
      ...connection({ t0: 2, client: NODE, cport: 40001, server: RES, sport: 50051, request: helloHttp1 }),
    ]);
    expect(flows[0]?.service).toBe('h2c');
    expect(codes(flows[0])).toEqual(['protocol-mismatch']);
    expect(codes(flows[1])).toEqual(['protocol-mismatch']);
    expect(flows[1]?.findings[0]?.message).toMatch(/ALPN/);
  });

  it('under native-http (revision 000) the same h2c is allowed and TLS is the mismatch', () => {
    const { flows } = judgeAll(
      [
        ...connection({ t0: 1, client: NODE, cport: 40000, server: RES, sport: 50051, request: H2_PREFACE }),
        ...connection({ t0: 2, client: NODE, cport: 40001, server: RES, sport: 50051, request: helloH2 }),
      ],
      'native-http',
    );
    expect(flows.map((f) => f.verdict)).toEqual(['allowed', 'violation']);
    expect(codes(flows[1])).toEqual(['protocol-mismatch']);
  });

  it('anything initiated toward a node is inbound-to-node, answered or not', () => {
    const { flows } = judgeAll([
      ...connection({ t0: 1, client: OUT, cport: 5, server: NODE, sport: 22, end: 'refused' }),
      ...connection({ t0: 2, client: OUT, cport: 6, server: NODE, sport: 9000, request: new Uint8Array(3) }),
      ...connection({ t0: 3, client: RES, cport: 7, server: NODE, sport: 50051, end: 'unanswered' }),
    ]);
    expect(flows.map(codes)).toEqual([['inbound-to-node'], ['inbound-to-node'], ['inbound-to-node']]);
    expect(flows[0]?.findings[0]?.message).toMatch(/refused \(REJ\)/);
    expect(flows[2]?.findings[0]?.message).toMatch(/unanswered \(S0\)/);
  });

  it('secagg key negotiation may enter a node, and must close', () => {
    const { flows } = judgeAll([
      ...connection({ t0: 1, client: NODE2, cport: 5, server: NODE, sport: 14000, request: new Uint8Array(64) }),
      ...connection({ t0: 2, client: RES, cport: 6, server: NODE, sport: 14001, request: new Uint8Array(64) }),
      ...connection({ t0: 3, client: NODE2, cport: 7, server: NODE, sport: 14002, request: new Uint8Array(64), end: 'open' }),
      ...connection({ t0: 4, client: OUT, cport: 8, server: NODE, sport: 14000, request: new Uint8Array(64) }),
    ]);
    expect(flows.map((f) => f.rule)).toEqual(['secagg-node', 'secagg-researcher', 'secagg-node', null]);
    expect(flows[0]?.service).toBe('mpspdz');
    expect(flows[0]?.serviceBy).toBe('port');
    expect(flows.map(codes)).toEqual([[], [], ['secagg-not-closed'], ['inbound-to-node']]);
  });

  it('GUIs accept only localhost', () => {
    const get = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: node1:8484\r\n\r\n');
    const { flows } = judgeAll([
      ...connection({ t0: 1, client: '127.0.0.1', cport: 5, server: '127.0.0.1', sport: 8484, request: get }),
      ...connection({ t0: 2, client: NODE, cport: 6, server: NODE, sport: 8484, request: get }),
      ...connection({ t0: 3, client: NODE2, cport: 7, server: NODE, sport: 8484, request: get }),
      ...connection({ t0: 4, client: NODE, cport: 8, server: RES, sport: 8888, request: get }),
    ]);
    expect(flows.map((f) => f.rule)).toEqual(['node-gui', 'node-gui', null, null]);
    expect(flows[0]?.client.role).toBe('localhost');
    expect(flows.map(codes)).toEqual([[], [], ['inbound-to-node', 'gui-not-localhost'], ['gui-not-localhost']]);
    expect(flows[2]?.http?.host).toBe('node1:8484');
  });

  it('a refused connection to the researcher is connection-failed, and the mandatory row is missing', () => {
    const { flows, capture } = judgeAll([
      ...connection({ t0: 1, client: NODE, cport: 5, server: RES, sport: 50051, end: 'refused' }),
      ...connection({ t0: 2, client: NODE, cport: 6, server: RES, sport: 50051, end: 'unanswered' }),
    ]);
    expect(flows.map(codes)).toEqual([['connection-failed'], ['connection-failed']]);
    expect(flows.map((f) => f.verdict)).toEqual(['warning', 'warning']);
    expect(capture.map((c) => `${c.code}:${c.rule}`)).toEqual(['mandatory-missing:node-researcher-grpc']);
  });

  it('no row: not-in-matrix; host services and strangers are out of scope', () => {
    const { flows } = judgeAll([
      ...connection({ t0: 1, client: NODE, cport: 5, server: OUT, sport: 443, request: helloH2 }),
      ...connection({ t0: 2, client: NODE, cport: 6, server: RES, sport: 8080 }),
      udp({ ts: 3, src: NODE, sport: 5353, dst: '8.8.8.8', dport: 53, payload: new Uint8Array(30) }),
      udp({ ts: 4, src: '198.51.100.1', sport: 1, dst: '198.51.100.2', dport: 2, payload: new Uint8Array(3) }),
      udp({ ts: 5, src: NODE, sport: 5353, dst: '224.0.0.251', dport: 5353, payload: new Uint8Array(3) }),
    ]);
    expect(flows.map(codes)).toEqual([['not-in-matrix'], ['not-in-matrix'], [], [], []]);
    expect(flows.slice(2).map((f) => `${f.verdict}:${f.scope}`)).toEqual(['out-of-scope:dns', 'out-of-scope:unrelated', 'out-of-scope:multicast']);
  });

  it("a DHCP server's answer to a node, seen without its request, is the node's DHCP flow (out of scope), not inbound", () => {
    // 67 is a host service's port and 68 is not: the server is the side on 67, as Zeek orients it.
    const { flows } = judgeAll([udp({ ts: 1, src: '10.0.0.254', sport: 67, dst: NODE, dport: 68, payload: new Uint8Array(300) })]);
    expect(flows[0]?.client).toMatchObject({ ip: NODE, port: 68 });
    expect(`${flows[0]?.verdict}:${flows[0]?.scope}`).toBe('out-of-scope:dhcp');
    expect(`${flows[0]?.state} ${flows[0]?.history}`).toBe('SHR ^d');
  });

  it('--phase install allows outbound HTTP/HTTPS to the Internet', () => {
    const { flows } = judgeAll(connection({ t0: 1, client: NODE, cport: 5, server: OUT, sport: 443, request: helloH2 }), 'native', [], 'install');
    expect(flows[0]?.rule).toBe('install-https');
    expect(flows[0]?.verdict).toBe('allowed');
  });
});

describe('vpn matrix', () => {
  const wgInit = (): Uint8Array => {
    const b = new Uint8Array(148);
    b[0] = 1;
    return b;
  };
  const wgResp = (): Uint8Array => {
    const b = new Uint8Array(92);
    b[0] = 2;
    return b;
  };

  it('WireGuard to the vpnserver is allowed; tunnelled gRPC too; the same gRPC outside the tunnel is not', () => {
    const { flows, capture } = judgeAll(
      [
        udp({ ts: 1, src: NODE, sport: 40000, dst: VPN, dport: 51820, payload: wgInit() }),
        udp({ ts: 1.01, src: VPN, sport: 51820, dst: NODE, dport: 40000, payload: wgResp() }),
        ...connection({ t0: 2, client: '10.78.0.2', cport: 5, server: '10.78.0.1', sport: 50051, request: helloH2 }),
        ...connection({ t0: 3, client: NODE, cport: 6, server: RES, sport: 50051, request: helloH2 }),
        udp({ ts: 4, src: NODE, sport: 40001, dst: VPN, dport: 51820, payload: new TextEncoder().encode('hello') }),
      ],
      'vpn',
      ['10.78.0.0/24'],
    );
    expect(flows.map((f) => f.rule)).toEqual(['node-vpnserver-wireguard', 'tunnel-node-researcher-grpc', null, 'node-vpnserver-wireguard']);
    expect(flows[0]?.service).toBe('wireguard');
    expect(flows[0]?.wireguard).toEqual([1, 2]);
    expect(flows[1]?.tunnel).toBe(true);
    expect(flows.map(codes)).toEqual([[], [], ['outside-tunnel'], ['protocol-mismatch']]);
    expect(capture).toEqual([]);
  });

  it('a handshake with no answer is connection-failed and the mandatory WireGuard row is missing', () => {
    const { flows, capture } = judgeAll([udp({ ts: 1, src: NODE, sport: 40000, dst: VPN, dport: 51820, payload: wgInit() })], 'vpn');
    expect(codes(flows[0])).toEqual(['connection-failed']);
    expect(capture.map((c) => c.rule)).toEqual(['node-vpnserver-wireguard']);
  });
});

describe('inventory from a hosts file: one machine with several addresses is local to itself', () => {
  it('node GUI reached from the node own second address is local', () => {
    const inventory = parseInventory('h.yaml', 'hosts:\n  - {name: n1, role: node, addresses: [10.0.0.2, 192.168.5.2]}\n');
    const judge = new Judge(loadRuleSet('native'), inventory);
    const flows: JudgedFlow[] = [];
    const table = new FlowTable({}, (f) => flows.push(judge.judge(f)), PAYLOAD_CLASSIFIERS);
    for (const p of connection({ t0: 1, client: '192.168.5.2', cport: 5, server: NODE, sport: 8484 })) table.add(p);
    table.flush();
    expect(flows[0]?.rule).toBe('node-gui');
    expect(flows[0]?.findings).toEqual([]);
  });
});

describe('the rows a flow targets', () => {
  it('its own row; for a violation no row allows, the rows on its port toward its server role and layer; else none', () => {
    const get = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: node1:8484\r\n\r\n');
    const { flows } = judgeAll([
      ...connection({ t0: 1, client: NODE, cport: 1, server: RES, sport: 50051, request: helloH2 }),
      ...connection({ t0: 2, client: NODE, cport: 2, server: RES, sport: 50051, request: H2_PREFACE }),
      ...connection({ t0: 3, client: NODE, cport: 3, server: RES, sport: 50051, end: 'refused' }),
      ...connection({ t0: 4, client: NODE2, cport: 4, server: NODE, sport: 8484, request: get }),
      ...connection({ t0: 5, client: OUT, cport: 5, server: NODE, sport: 14000, request: new Uint8Array(64) }),
      ...connection({ t0: 6, client: NODE, cport: 6, server: RES, sport: 8080 }),
      udp({ ts: 7, src: NODE, sport: 5353, dst: '8.8.8.8', dport: 53, payload: new Uint8Array(30) }),
    ]);
    expect(flows.map((f) => `${f.verdict} ${f.rule ?? '-'} [${f.targets.join(',')}]`)).toEqual([
      'allowed node-researcher-grpc [node-researcher-grpc]',
      'violation node-researcher-grpc [node-researcher-grpc]',
      'warning node-researcher-grpc [node-researcher-grpc]',
      // The GUI reached from another node: the local-only row it tried to reach.
      'violation - [node-gui]',
      // Secagg from the Internet into a node: every secagg row toward a node, whoever may call it.
      'violation - [secagg-node,secagg-researcher]',
      'violation - []',
      'out-of-scope - []',
    ]);
  });

  it('a flow outside the tunnel does not target the tunnel rows on its port', () => {
    const { flows } = judgeAll(connection({ t0: 1, client: NODE, cport: 6, server: RES, sport: 50051, request: helloH2 }), 'vpn', ['10.78.0.0/24']);
    expect(codes(flows[0])).toEqual(['outside-tunnel']);
    expect(flows[0]?.targets).toEqual([]);
  });
});

describe('secagg sessions past the timeout (live)', () => {
  const inventory = inventoryFromFlags({ node: [NODE, NODE2], researcher: [RES], vpnserver: [], tunnel: [] });

  /** The flow as the table holds it after the packets, still going on. */
  function live(judge: Judge, packets: Packet[]) {
    const table = new FlowTable({ isServicePort: judge.isServicePort }, () => undefined, PAYLOAD_CLASSIFIERS);
    let flow: ReturnType<typeof table.add>;
    for (const p of packets) flow = table.add(p) ?? flow;
    if (!flow) throw new Error('no flow');
    return flow;
  }

  it('a must-close session open longer than the timeout is overdue: secagg-not-closed, as of now', () => {
    const judge = new Judge(loadRuleSet('native'), inventory, 10);
    const flow = live(judge, connection({ t0: 100, client: NODE2, cport: 7, server: NODE, sport: 14002, request: new Uint8Array(64), end: 'open' }));
    expect(judge.mustClose(judge.provisional(flow))).toBe(true);
    expect(judge.overdue(flow, 109.9)).toBeUndefined();
    const overdue = judge.overdue(flow, 111);
    expect(overdue?.finding).toEqual({
      code: 'secagg-not-closed',
      severity: 'violation',
      message: `secagg session (secagg-node) ${NODE2} -> ${NODE}:14002 still open after 11 s (--secagg-timeout 10); it must close once negotiation completes`,
    });
    expect(overdue?.flow.rule).toBe('secagg-node');
    expect(overdue?.flow.verdict).toBe('violation');
    expect(overdue?.flow.end).toBe(111);
    expect(overdue?.flow.findings.map((f) => f.code)).toEqual(['secagg-not-closed']);
    // Asking is not judging: nothing is counted for the capture.
    expect(judge.captureFindings()).toEqual([]);
  });

  it('a closed session, a session with no timeout and a flow whose row need not close are never overdue', () => {
    const timed = new Judge(loadRuleSet('native'), inventory, 10);
    const closed = live(timed, connection({ t0: 100, client: NODE2, cport: 7, server: NODE, sport: 14002, request: new Uint8Array(64) }));
    expect(timed.overdue(closed, 200)).toBeUndefined();
    const grpc = live(timed, connection({ t0: 100, client: NODE, cport: 8, server: RES, sport: 50051, request: helloH2, end: 'open' }));
    expect(timed.mustClose(timed.provisional(grpc))).toBe(false);
    expect(timed.overdue(grpc, 200)).toBeUndefined();
    const untimed = new Judge(loadRuleSet('native'), inventory);
    const open = live(untimed, connection({ t0: 100, client: NODE2, cport: 7, server: NODE, sport: 14002, request: new Uint8Array(64), end: 'open' }));
    expect(untimed.overdue(open, 200)).toBeUndefined();
  });
});

describe('ICMP and other IP protocols: out of scope, never a finding (the matrix lists TCP and UDP rows only)', () => {
  it('a ping toward a node from the internet, an unreachable, OSPF: out-of-scope with scope icmp / ip-proto-N, no finding', () => {
    const { flows, capture } = judgeAll([
      icmp({ ts: 1, src: OUT, dst: NODE, type: 8, payload: new Uint8Array(56) }),
      icmp({ ts: 1.01, src: NODE, dst: OUT, type: 0, payload: new Uint8Array(56) }),
      icmp({ ts: 2, src: NODE, dst: RES, type: 3, code: 3, payload: new Uint8Array(28) }),
      ipProto({ ts: 3, src: NODE, dst: '224.0.0.5', proto: 89, len: 44 }),
      icmp({ ts: 4, src: 'fe80::1', dst: 'ff02::2', type: 133 }),
    ]);
    expect(
      flows.map((f) => `${f.transport}/${f.ipProto} ${f.client.role}:${f.client.port} -> ${f.server.role}:${f.server.port} ${f.service} ${f.verdict} ${f.scope} ${f.state}`),
    ).toEqual([
      'icmp/1 internet:8 -> node:0 icmp out-of-scope icmp OTH',
      'icmp/1 node:3 -> researcher:3 icmp out-of-scope icmp OTH',
      'unknown_transport/89 node:0 -> internet:0 unknown out-of-scope ip-proto-89 OTH',
      'icmp/58 internet:133 -> internet:134 icmp out-of-scope icmp OTH',
    ]);
    for (const f of flows) {
      expect(f.findings).toEqual([]);
      expect(f.rule).toBeNull();
      expect(f.targets).toEqual([]);
      expect(f.serviceBy).toBe('none');
    }
    expect(capture).toEqual([]);
  });

  it('they count for no row: a node that only pings the researcher does not make gRPC missing, nor seen', () => {
    const { capture } = judgeAll([icmp({ ts: 1, src: NODE, dst: RES, type: 8 }), icmp({ ts: 1.1, src: RES, dst: NODE, type: 0 })]);
    expect(capture).toEqual([]);
  });
});
