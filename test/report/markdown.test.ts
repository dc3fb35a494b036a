import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { mdCell } from '../../src/report/markdown.js';

describe('--format markdown', () => {
  it('summarises a violating capture for a CI summary page', async () => {
    const { code, stdout } = await cli('analyze', 'captures/node-gui-exposed.pcap', '--hosts', 'captures/lab.hosts.yaml', '--format', 'markdown');
    expect(code).toBe(1);
    expect(stdout.startsWith('## netmatrix: ❌ violations\n')).toBe(true);
    expect(stdout).toContain('| node → researcher | tcp/50051 | tls | node-researcher-grpc | allowed | 4 |');
    expect(stdout).toMatch(/\| violation \| gui-not-localhost \| 10\.77\.0\.66:\d+ \(internet\) \| 10\.77\.0\.2:8484 \(node\) \|/);
    expect(stdout).toContain('**4 violations**');
  });

  it('a clean capture says so', async () => {
    const { code, stdout } = await cli('analyze', 'captures/node-clean.pcapng', '--hosts', 'captures/lab.hosts.yaml', '--format', 'markdown');
    expect(code).toBe(0);
    expect(stdout.startsWith('## netmatrix: ✅ compliant\n')).toBe(true);
    expect(stdout).not.toContain('### Findings');
  });

  it('strings from packets cannot add HTML, links, table cells or escape sequences', async () => {
    expect(mdCell('<script>alert(1)</script>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mdCell('a|b')).toBe('a\\|b');
    expect(mdCell('[x](http://evil)')).toBe('\\[x\\](http://evil)');
    expect(mdCell('`code`')).toBe('\\`code\\`');
    expect(mdCell('\u001b[2J\u0007')).toBe('\\x1b\\[2J\\x07');
    const { stdout } = await cli('analyze', 'test/corpus-regressions/hostile-clienthello.pcap', '--node', '10.0.0.0/8', '--format', 'markdown');
    expect(stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(stdout).not.toContain('<script');
    expect(stdout).toContain('&lt;script&gt;');
  });
});
