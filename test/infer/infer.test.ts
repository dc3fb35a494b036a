import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_CLASSIFIERS } from '../../src/classify/classify.js';
import { parse } from 'yaml';
import { runInfer } from '../../src/cli/commands/infer.js';
import type { CliIO } from '../../src/cli/options.js';
import { run } from '../../src/cli/run.js';
import type { Packet } from '../../src/decode/packet.js';
import { NetmatrixError } from '../../src/model/errors.js';
import { FlowTable } from '../../src/flow/table.js';
import { InferenceCollector, inferFromCaptures, inferenceRules, proposalYaml, type Inference } from '../../src/infer/infer.js';
import { RoleResolver, parseInventory } from '../../src/policy/inventory.js';
import { Judge } from '../../src/policy/judge.js';
import { loadInventoryFile, type RuleSet } from '../../src/policy/load.js';
import { connection, icmp, ipProto, udp } from '../helpers/packets.js';
import { clientHello } from '../helpers/tls.js';

const CAPTURES = fileURLToPath(new URL('../../captures/', import.meta.url));
const lab = new RoleResolver(loadInventoryFile(join(CAPTURES, 'lab.hosts.yaml')));

/** Every fixture capture with the inventory its expect file names. */
const allFixtures = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.expect.yaml'))
  .map((f) => {
    const stem = f.slice(0, -'.expect.yaml'.length);
    const capture = readdirSync(CAPTURES).find((c) => c === `${stem}.pcap` || c === `${stem}.pcapng`);
    if (!capture) throw new Error(`no capture for ${f}`);
    const { hosts, matrix } = parse(readFileSync(join(CAPTURES, f), 'utf8')) as { hosts: string; matrix?: string };
    return { capture: join(CAPTURES, capture), hosts, matrix: matrix ?? 'native' };
  });
/** Captures whose expect file names lab.hosts.yaml. */
const fixtures = allFixtures.filter((f) => f.hosts === 'lab.hosts.yaml').map((f) => f.capture);
const fixture = (name: string): string => join(CAPTURES, name);

const roleOf = (inf: Inference, address: string): string | undefined => inf.hosts.find((h) => h.addresses.includes(address))?.role;

function io(): CliIO & { out: string; err: string } {
  const o = { out: '', err: '', stdoutIsTTY: false, stderrIsTTY: false } as CliIO & { out: string; err: string };
  o.stdout = (t) => (o.out += t);
  o.stderr = (t) => (o.err += t);
  return o;
}

describe('infer on the lab fixtures', () => {
  it('finds the fixtures, of every rule set with recorded traffic', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(16);
    expect(allFixtures.length).toBeGreaterThanOrEqual(19);
    expect([...new Set(allFixtures.map((f) => f.matrix))]).toEqual(expect.arrayContaining(['native', 'native-5.4', 'vpn', 'legacy-mqtt', 'docker']));
  });

  it.each(allFixtures.map((f) => [f.capture.slice(CAPTURES.length), f.hosts, f.capture]))(
    '%s: every proposed host has the role %s gives it',
    (_name, hosts, file) => {
      const inventory = new RoleResolver(loadInventoryFile(join(CAPTURES, hosts)));
      const { inference } = inferFromCaptures({ files: [file] });
      for (const h of inference.hosts) {
        for (const a of h.addresses) expect(`${a} ${h.role}`).toBe(`${a} ${inventory.resolve(a).role}`);
      }
      const yaml = proposalYaml(inference, [file]);
      if (inference.hosts.length > 0) expect(parseInventory('inferred.yaml', yaml).hosts.length).toBe(inference.hosts.length);
      else expect(yaml).toContain('hosts: []');
    },
  );

  it('mqtt-clean (before 5.0): the broker and restful server is the researcher, their remote clients nodes (low confidence, listed)', () => {
    const { inference } = inferFromCaptures({ files: [fixture('mqtt-clean.pcap')] });
    expect(inference.hosts.map((h) => `${h.addresses.join(',')} ${h.role} ${h.confidence}`)).toEqual([
      '10.77.0.1 researcher medium',
      '10.77.0.2 node low',
      '10.77.0.3 node low',
    ]);
    const researcher = inference.hosts[0];
    expect(researcher?.evidence.join('\n')).toMatch(/server of HTTP on 8844 \(restful service\) \(4 flows\) for 2 clients 10\.77\.0\.2, 10\.77\.0\.3/);
    expect(researcher?.evidence.join('\n')).toMatch(/server of TCP\/1883 with data both ways \(MQTT port, payload not checked\) \(4 flows\)/);
    // the researcher's own clients (on 127.0.0.1 and to its own address) are not evidence
    expect(inference.others).toEqual([]);
    expect(inference.ambiguities.map((a) => a.address)).toEqual(['10.77.0.2', '10.77.0.3']);
    expect(inference.ambiguities[0]?.message).toBe(
      '10.77.0.2: a client of the restful service and MQTT broker (of 10.77.0.1) with no gRPC evidence; proposed as node because the researcher is 10.77.0.1; check it',
    );
  });

  it('mqtt-violations: a node that runs a broker and uses another one is listed, not guessed', () => {
    const { inference } = inferFromCaptures({ files: [fixture('mqtt-violations.pcap')] });
    expect(roleOf(inference, '10.77.0.1')).toBe('researcher');
    expect(roleOf(inference, '10.77.0.2')).toBeUndefined();
    const amb = inference.ambiguities.find((a) => a.address === '10.77.0.2');
    expect(amb?.roles).toEqual(['researcher', 'component']);
    expect(amb?.message).toMatch(/^10\.77\.0\.2: serves as MQTT broker and is a client of another \(.*\); not proposed/);
    // node2, a client of that broker, is a node (the researcher is known from its restful service)
    expect(roleOf(inference, '10.77.0.3')).toBe('node');
  });

  it('docker fixtures: the researcher container, its host, the node container and its host, by their own addresses', () => {
    const docker = allFixtures.filter((f) => f.matrix === 'docker').map((f) => f.capture);
    expect(docker.map((f) => f.slice(CAPTURES.length)).sort()).toEqual(['docker-exposed.pcap', 'docker-node.pcap', 'docker-researcher.pcap']);
    const { inference } = inferFromCaptures({ files: docker });
    expect(roleOf(inference, '10.77.0.1')).toBe('researcher'); // the researcher's Docker host (published 50051)
    expect(roleOf(inference, '172.17.0.2')).toBe('researcher'); // the researcher container, after DNAT
    expect(roleOf(inference, '10.77.0.2')).toBe('node'); // node1's Docker host (masquerade)
    expect(roleOf(inference, '172.18.0.2')).toBe('node'); // the node container, on its bridge
    for (const h of inference.hosts) expect(h.confidence).toBe('high');
    // GUI containers reached from their host only: supporting evidence, listed, not proposed
    for (const gui of ['172.18.0.3', '172.18.0.4', '172.18.0.5']) {
      expect(roleOf(inference, gui)).toBeUndefined();
      expect(inference.ambiguities.find((a) => a.address === gui)?.message).toMatch(/server on 8484 \(node GUI port\).*maybe a node; not proposed/);
    }
    // the gateways (docker-proxy's side) and the outsider show no component evidence
    expect(inference.others).toEqual(['10.77.0.66', '172.17.0.1', '172.18.0.1']);
  });

  it('recovers every role of the lab from all fixtures together', () => {
    const { inference } = inferFromCaptures({ files: fixtures });
    expect(roleOf(inference, '10.77.0.1')).toBe('researcher');
    expect(roleOf(inference, '10.77.0.2')).toBe('node');
    expect(roleOf(inference, '10.77.0.3')).toBe('node');
    expect(roleOf(inference, '10.77.0.10')).toBe('vpnserver');
    expect(roleOf(inference, '10.78.0.1')).toBe('researcher');
    expect(roleOf(inference, '10.78.0.2')).toBe('node');
    for (const h of inference.hosts) for (const a of h.addresses) expect(lab.resolve(a).role).toBe(h.role);
    const byAddress = new Map(inference.hosts.map((h) => [h.addresses[0], h]));
    expect(byAddress.get('10.77.0.1')?.name).toBe('researcher');
    expect(byAddress.get('10.77.0.2')?.name).toBe('node1');
    expect(byAddress.get('10.77.0.3')?.name).toBe('node2');
    expect(byAddress.get('10.77.0.10')?.name).toBe('vpnserver');
    expect(byAddress.get('10.77.0.1')?.confidence).toBe('high');
    expect(byAddress.get('10.77.0.10')?.confidence).toBe('high');
    expect(inference.others).toContain('10.77.0.66'); // the outsider: no component evidence
    // node1 also runs a stray MQTT broker in mqtt-violations: weak evidence against strong, said
    expect(byAddress.get('10.77.0.2')?.confidence).toBe('medium');
    expect(inference.ambiguities.find((a) => a.address === '10.77.0.2')?.message).toMatch(
      /^10\.77\.0\.2: proposed as node, but weak evidence says researcher \(server of TCP\/1883 .* for client 10\.77\.0\.3\); check it$/,
    );
    expect(inference.hosts.some((h) => h.addresses.includes('10.77.0.66'))).toBe(false);
    const yaml = proposalYaml(inference, fixtures);
    const inv = parseInventory('inferred.yaml', yaml);
    expect(inv.hosts.map((h) => h.name)).toEqual(inference.hosts.map((h) => h.name));
    expect(yaml).toMatch(/# researcher: server of TLS on 50051 \(\d+ flows\) for 2 clients 10\.77\.0\.2, 10\.77\.0\.3, ALPN h2 \(confidence high\)/);
  });

  it('vpn-underlay alone: the WireGuard client is listed as ambiguous, not guessed', () => {
    const { inference } = inferFromCaptures({ files: [join(CAPTURES, 'vpn-underlay.pcap')] });
    expect(roleOf(inference, '10.77.0.10')).toBe('vpnserver');
    expect(roleOf(inference, '10.77.0.2')).toBeUndefined();
    expect(inference.ambiguities.map((a) => a.address)).toContain('10.77.0.2');
  });

  it('researcher-down: refused attempts give low confidence', () => {
    const { inference } = inferFromCaptures({ files: [join(CAPTURES, 'researcher-down.pcap')] });
    expect(inference.hosts.find((h) => h.role === 'researcher')?.confidence).toBe('low');
  });
});

describe('synthetic evidence', () => {
  const hello = clientHello({ sni: 'researcher', alpn: ['h2'], tls13: true });

  function infer(packets: Packet[], rules: RuleSet = inferenceRules()): Inference {
    const judge = new Judge(rules, { hosts: [], tunnel: [] });
    const collector = new InferenceCollector(rules);
    const table = new FlowTable({ isServicePort: judge.isServicePort }, (f) => collector.add(judge.judge(f)), PAYLOAD_CLASSIFIERS);
    for (const p of packets.sort((a, b) => a.ts - b.ts)) table.add(p);
    table.flush();
    return collector.result();
  }

  it('an address that is both a TLS:50051 client and server is listed, not guessed', () => {
    const inference = infer([
      ...connection({ t0: 1, client: '10.0.0.5', cport: 40000, server: '10.0.0.1', sport: 50051, request: hello }),
      ...connection({ t0: 2, client: '10.0.0.9', cport: 40001, server: '10.0.0.5', sport: 50051, request: hello }),
    ]);
    expect(roleOf(inference, '10.0.0.5')).toBeUndefined();
    const amb = inference.ambiguities.find((a) => a.address === '10.0.0.5');
    expect(amb?.roles.sort()).toEqual(['node', 'researcher']);
    expect(roleOf(inference, '10.0.0.1')).toBe('researcher');
    expect(roleOf(inference, '10.0.0.9')).toBe('node');
    const yaml = proposalYaml(inference, ['synthetic']);
    expect(yaml).toMatch(/# ambiguities:\n# {3}10\.0\.0\.5: evidence for (researcher and node|node and researcher)/);
    expect(parseInventory('x.yaml', yaml).hosts).toHaveLength(2);
  });

  it('weak contrary evidence lowers confidence and is listed', () => {
    const inference = infer([
      ...connection({ t0: 1, client: '10.0.0.5', cport: 40000, server: '10.0.0.1', sport: 50051, request: hello }),
      ...connection({ t0: 2, client: '10.0.0.9', cport: 40001, server: '10.0.0.5', sport: 50051, end: 'refused' }),
    ]);
    const h = inference.hosts.find((x) => x.addresses.includes('10.0.0.5'));
    expect(h?.role).toBe('node');
    expect(h?.confidence).toBe('medium');
    expect(inference.ambiguities.map((a) => a.address)).toContain('10.0.0.5');
  });

  const MQTT_CONNECT = new Uint8Array([0x10, 0x10, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 4, 0x6e, 0x6f, 0x64, 0x65]);
  const MQTT_CONNACK = new Uint8Array([0x20, 2, 0, 0]);

  it('an MQTT broker alone: a researcher with low confidence (port evidence), its clients listed, not guessed', () => {
    const inference = infer([
      ...connection({ t0: 1, client: '10.0.0.5', cport: 40000, server: '10.0.0.1', sport: 1883, request: MQTT_CONNECT, response: MQTT_CONNACK }),
      ...connection({ t0: 2, client: '10.0.0.6', cport: 40001, server: '10.0.0.1', sport: 1883, request: MQTT_CONNECT, response: MQTT_CONNACK }),
      // no bytes both ways, or refused: no evidence
      ...connection({ t0: 3, client: '10.0.0.7', cport: 40002, server: '10.0.0.2', sport: 1883 }),
      ...connection({ t0: 4, client: '10.0.0.7', cport: 40003, server: '10.0.0.3', sport: 1883, end: 'refused' }),
    ]);
    expect(inference.hosts.map((h) => `${h.addresses.join(',')} ${h.role} ${h.confidence}`)).toEqual(['10.0.0.1 researcher low']);
    expect(inference.ambiguities.map((a) => `${a.address} ${a.roles.join(',')}`)).toEqual(['10.0.0.5 component', '10.0.0.6 component']);
    expect(inference.others).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.7']);
  });

  it('HTTP on 8844 is restful evidence; TLS on 1883 is not broker evidence', () => {
    const get = new TextEncoder().encode('GET /media/uploads/model.py HTTP/1.1\r\nHost: 10.0.0.1:8844\r\n\r\n');
    const inference = infer([
      ...connection({ t0: 1, client: '10.0.0.5', cport: 40000, server: '10.0.0.1', sport: 8844, request: get, response: new TextEncoder().encode('HTTP/1.1 200 OK\r\n\r\n') }),
      ...connection({ t0: 2, client: '10.0.0.5', cport: 40001, server: '10.0.0.9', sport: 1883, request: hello, response: MQTT_CONNACK }),
    ]);
    expect(inference.hosts.map((h) => `${h.addresses.join(',')} ${h.role} ${h.confidence}`)).toEqual(['10.0.0.1 researcher medium', '10.0.0.5 node low']);
    expect(inference.others).toEqual(['10.0.0.9']);
  });

  it('ignores ICMP and other IP protocols: the inference is the same with them, their addresses included', () => {
    const grpc = connection({ t0: 1, client: '10.0.0.5', cport: 40000, server: '10.0.0.1', sport: 50051, request: hello });
    const without = infer([...grpc]);
    const withOther = infer([
      ...grpc,
      icmp({ ts: 2, src: '10.0.0.5', dst: '10.0.0.1', type: 8 }),
      icmp({ ts: 2.1, src: '10.0.0.1', dst: '10.0.0.5', type: 0 }),
      icmp({ ts: 3, src: '10.0.0.7', dst: '10.0.0.5', type: 3, code: 3 }),
      ipProto({ ts: 4, src: '10.0.0.8', dst: '10.0.0.1', proto: 89 }),
    ]);
    expect(withOther).toEqual(without);
    expect(withOther.others).not.toContain('10.0.0.7');
  });

  it('ignores loopback and reports a WireGuard server', () => {
    const inference = infer([
      ...connection({ t0: 1, client: '127.0.0.1', cport: 40000, server: '127.0.0.1', sport: 50051, request: hello }),
      udp({ ts: 2, src: '10.0.0.2', sport: 40000, dst: '10.0.0.10', dport: 51820, payload: new Uint8Array([1, 0, 0, 0, ...new Array<number>(144).fill(0)]) }),
      udp({ ts: 2.1, src: '10.0.0.10', sport: 51820, dst: '10.0.0.2', dport: 40000, payload: new Uint8Array([2, 0, 0, 0, ...new Array<number>(88).fill(0)]) }),
    ]);
    expect(inference.hosts.some((h) => h.addresses.includes('127.0.0.1'))).toBe(false);
    expect(roleOf(inference, '10.0.0.10')).toBe('vpnserver');
    expect(roleOf(inference, '10.0.0.2')).toBeUndefined();
  });

  it('reads its ports and roles from the rule set: gRPC moved to 50052 is looked for there only', () => {
    const rules = inferenceRules();
    const moved = { ...rules, rows: rules.rows.map((r) => (r.id === 'node-researcher-grpc' ? { ...r, ports: [{ lo: 50052, hi: 50052 }] } : r)) };
    const packets = (): Packet[] => [
      ...connection({ t0: 1, client: '10.0.0.5', cport: 40000, server: '10.0.0.1', sport: 50052, request: hello }),
      ...connection({ t0: 2, client: '10.0.0.6', cport: 40001, server: '10.0.0.2', sport: 50051, request: hello }),
    ];
    const inference = infer(packets(), moved);
    expect(roleOf(inference, '10.0.0.1')).toBe('researcher');
    expect(roleOf(inference, '10.0.0.5')).toBe('node');
    expect(inference.hosts.find((h) => h.addresses.includes('10.0.0.1'))?.evidence[0]).toMatch(/^server of TLS on 50052 /);
    expect(roleOf(inference, '10.0.0.2')).toBeUndefined();
    expect(roleOf(infer(packets()), '10.0.0.2')).toBe('researcher');
  });

  it('a rule set without the rows it reads from is refused', () => {
    const rules = inferenceRules();
    expect(() => new InferenceCollector({ ...rules, rows: rules.rows.filter((r) => r.id !== 'restful') })).toThrow(/no row restful/);
  });
});

describe('netmatrix infer (runInfer)', () => {
  it('writes the YAML to --output, parseable as --hosts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-infer-'));
    const out = join(dir, 'hosts.yaml');
    const t = io();
    expect(await runInfer({ captures: [join(CAPTURES, 'researcher-view.pcap')], output: out }, t)).toBe(0);
    expect(t.out).toBe('');
    const inv = parseInventory(out, readFileSync(out, 'utf8'));
    expect(inv.hosts.map((h) => `${h.name} ${h.role}`)).toEqual(['researcher researcher', 'node1 node', 'node2 node']);
    expect(readdirSync(dir)).toEqual(['hosts.yaml']);
  });

  it('writes to stdout without --output', async () => {
    const t = io();
    expect(await runInfer({ captures: [join(CAPTURES, 'node-clean.pcapng')], output: undefined }, t)).toBe(0);
    expect(t.out).toContain('  - name: researcher\n');
  });

  it('bad input throws a NetmatrixError, which the command line reports in one line (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-infer-'));
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, 'not a capture at all');
    let err: unknown;
    try {
      await runInfer({ captures: [bad], output: undefined }, io());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).exitCode).toBe(2);
    await expect(runInfer({ captures: [], output: undefined }, io())).rejects.toThrow(NetmatrixError);
    const t = io();
    expect(await run(['infer', bad], t)).toBe(2);
    expect(t.out).toBe('');
    expect(t.err.startsWith(`netmatrix: ${bad}`)).toBe(true);
    expect(t.err.split('\n')).toHaveLength(2);
  });

  it('an --output the file system refuses is a usage error naming the option (exit 2)', async () => {
    const t = io();
    expect(await run(['infer', join(CAPTURES, 'node-clean.pcapng'), '--output', '/nonexistent/dir/hosts.yaml'], t)).toBe(2);
    expect(t.out).toBe('');
    expect(t.err).toMatch(/^netmatrix: --output \/nonexistent\/dir\/hosts\.yaml: ENOENT.*\n$/);
  });
});
