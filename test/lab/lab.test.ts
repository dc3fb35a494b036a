/**
 * Re-records every lab scenario with real software (namespaces, grpc-js over TLS, wireguard-go,
 * mosquitto, Docker-style bridges and nftables NAT, tcpdump) into a temporary folder and judges each new capture against the expectation the lab
 * writes beside it: the fixtures in captures/ are reproducible, not hand-made.
 * Needs root and the lab's tools; CI (root, .ci/run installs them) always runs it. On a developer
 * machine without root it cannot run and is skipped; under CI a missing prerequisite fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { loadInventoryFile, loadRuleSet } from '../../src/policy/load.js';
import { compareFindings, loadExpectation, observedFindings } from '../../src/verify/expectation.js';

const isRoot = process.getuid?.() === 0;
const inCI = Boolean(process.env.CI);
const TOOLS = ['ip', 'tcpdump', 'dumpcap', 'tshark', 'wireguard-go', 'wg', 'openssl', 'curl', 'mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'nft'];
const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const canRun = isRoot && missing.length === 0;

describe.runIf(canRun || inCI)('recording lab', () => {
  const out = mkdtempSync(join(tmpdir(), 'nm-lab-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('records every scenario from real traffic and each capture meets its expectation', () => {
    expect({ root: isRoot, missingTools: missing }).toEqual({ root: true, missingTools: [] });
    execFileSync('bash', ['test/lab/record.sh'], {
      env: { ...process.env, NETMATRIX_CAPTURES: out },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 600_000,
    });
    const expectations = readdirSync(out).filter((f) => f.endsWith('.expect.yaml'));
    expect(expectations).toHaveLength(18);
    // every scenario of record.sh --list wrote its expectation (and the Docker one its inventory)
    const scenarios = execFileSync('bash', ['test/lab/record.sh', '--list'], { encoding: 'utf8' }).trim().split('\n');
    expect(expectations.map((f) => f.replace('.expect.yaml', '')).sort()).toEqual([...scenarios].sort());
    expect(readdirSync(out).filter((f) => f.endsWith('.hosts.yaml')).sort()).toEqual(['docker.hosts.yaml', 'lab.hosts.yaml']);
    const failures: Record<string, unknown> = {};
    for (const exp of expectations) {
      const e = loadExpectation(join(out, exp));
      const stem = exp.replace('.expect.yaml', '');
      const capture = readdirSync(out).find((f) => f === `${stem}.pcap` || f === `${stem}.pcapng`);
      const flows: JudgedFlow[] = [];
      const result = analyzeCaptures({
        files: [join(out, capture ?? `${stem}.missing`)],
        rules: loadRuleSet(e.matrix, e.phase),
        inventory: loadInventoryFile(e.hosts),
        onFlow: (f) => flows.push(f),
      });
      const cmp = compareFindings(e.findings, observedFindings(flows, result.captureFindings));
      if (cmp.missing.length + cmp.unexpected.length > 0 || !result.complete) failures[stem] = { ...cmp, complete: result.complete };
    }
    expect(failures).toEqual({});
  }, 900_000);
});
