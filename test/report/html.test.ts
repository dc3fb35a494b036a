/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { loadRuleSet } from '../../src/policy/load.js';
import { HtmlWriter, htmlText, scriptJson } from '../../src/report/html.js';
import type { RunSummary } from '../../src/report/summary.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
// In CI a missing browser is a failure, not a skip.
const browserSuite = haveChromium || process.env.CI ? describe : describe.skip;

const dir = mkdtempSync(join(tmpdir(), 'netmatrix-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// eslint-disable-next-line no-control-regex
const RAW_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** The summary of a complete run with these verdicts (no decoder trouble, no inputs listed). */
function runSummary(verdicts: RunSummary['verdicts']): RunSummary {
  const flows = Object.values(verdicts).reduce((n, v) => n + v, 0);
  return {
    complete: true,
    frames: 0,
    flows,
    verdicts,
    findings: {},
    violations: verdicts.violation,
    warnings: verdicts.warning,
    start: null,
    end: null,
    decode: { packets: 0, truncated: 0, malformed: 0, skipped: 0, fragmentsReassembled: 0, fragmentsEvicted: 0, weirds: {} },
    flowTable: { evicted: 0, timedOut: 0, otherIpPackets: 0 },
    inputs: [],
    exitCode: verdicts.violation > 0 ? 1 : 0,
  };
}

describe('--format html (no browser)', () => {
  it('needs --output FILE', async () => {
    const r = await cli('analyze', 'captures/node-gui-exposed.pcap', '--hosts', 'captures/lab.hosts.yaml', '--format', 'html');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format html needs --output FILE');
  });

  it('escapes strings for HTML and for the JSON data block', () => {
    expect(htmlText(`<script>"a"&'b'\u001b[2J`)).toBe('&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;\\x1b[2J');
    const json = scriptJson({ sni: '</script><script>alert(1)</script>\u2028' });
    expect(json).not.toContain('<');
    expect(json).not.toContain('>');
    expect(JSON.parse(json)).toEqual({ sni: '</script><script>alert(1)</script>\u2028' });
  });

  it('stays bounded: arrows capped (violations kept first), findings kept up to maxRows and counted', () => {
    let html = '';
    const w = new HtmlWriter((t) => (html += t), loadRuleSet('native'), 5, 10);
    const flow = (i: number, violation: boolean): JudgedFlow => ({
      id: i,
      transport: 'tcp',
      ipProto: 6,
      client: { ip: `10.0.${Math.floor(i / 250)}.${i % 250}`, port: 40000, role: 'node', packets: 1, bytes: 60 },
      server: { ip: '203.0.113.5', port: 443, role: 'internet', packets: 1, bytes: 60 },
      service: 'tls',
      serviceBy: 'port',
      state: 'SF',
      history: 'ShADFf',
      packets: 2,
      bytes: 120,
      start: 1_700_000_000 + i,
      end: 1_700_000_000 + i + 1,
      tunnel: false,
      endReason: 'closed',
      rule: null,
      targets: [],
      ...(violation
        ? { verdict: 'violation' as const, findings: [{ code: 'not-in-matrix' as const, severity: 'violation' as const, message: 'no row' }] }
        : { verdict: 'out-of-scope' as const, scope: 'unrelated', findings: [] }),
    });
    for (let i = 0; i < 5000; i++) w.flow(flow(i, i >= 4990));
    w.end(runSummary({ allowed: 0, violation: 10, warning: 0, local: 0, 'out-of-scope': 4990 }), []);
    expect(html.match(/<g class="edge /g)).toHaveLength(10);
    expect(html.match(/<g class="edge violation"/g)).toHaveLength(10);
    expect(html).toContain('4990 arrows (4990 flows) left out of the graph (at most 10 arrows).');
    expect(html.match(/<tr class="sev-violation"/g)).toHaveLength(5);
    expect(html).toContain('... and 5 more');
  });

  it('marks the rows the judge says a flow targeted; a violation that targets none is counted apart', () => {
    let html = '';
    const w = new HtmlWriter((t) => (html += t), loadRuleSet('native'), 5, 10);
    const base: JudgedFlow = {
      id: 1,
      transport: 'tcp',
      ipProto: 6,
      client: { ip: '10.0.0.3', port: 40000, role: 'node', packets: 1, bytes: 60 },
      server: { ip: '10.0.0.2', port: 8484, role: 'node', packets: 1, bytes: 60 },
      service: 'http',
      serviceBy: 'payload',
      state: 'SF',
      history: 'ShADFf',
      packets: 2,
      bytes: 120,
      start: 1_700_000_000,
      end: 1_700_000_001,
      tunnel: false,
      endReason: 'closed',
      rule: null,
      targets: ['node-gui'],
      verdict: 'violation',
      findings: [{ code: 'gui-not-localhost', severity: 'violation', message: 'GUI reached' }],
    };
    w.flow(base);
    w.flow({ ...base, id: 2, server: { ...base.server, port: 9999 }, targets: [] });
    w.flow({ ...base, id: 3, rule: 'researcher-jupyter', targets: ['researcher-jupyter'], verdict: 'allowed', findings: [] });
    w.end(runSummary({ allowed: 1, violation: 2, warning: 0, local: 0, 'out-of-scope': 0 }), []);
    const states = [...html.matchAll(/data-rule="([^"]+)" data-state="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(states).toContain('node-gui violated');
    expect(states).toContain('researcher-jupyter seen');
    expect(states).toContain('node-researcher-grpc not-seen');
    expect(html).toContain('1 violating flow matched no row of the matrix');
  });

  it('writes one self-contained file with a CSP that forbids the network', async () => {
    const out = join(dir, 'static.html');
    const r = await cli('analyze', 'captures/node-gui-exposed.pcap', '--hosts', 'captures/lab.hosts.yaml', '--format', 'html', '--output', out);
    expect(r.code).toBe(1);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+';/);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\((?!#)/);
    expect(html).not.toMatch(RAW_CONTROLS);
  });
});

browserSuite('--format html in a browser', () => {
  let browser: Browser;
  const gui = join(dir, 'gui.html');
  const hostile = join(dir, 'hostile.html');

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI is set but ${CHROMIUM} is missing: the HTML report cannot be tested`);
    expect((await cli('analyze', 'captures/node-gui-exposed.pcap', '--hosts', 'captures/lab.hosts.yaml', '--format', 'html', '--output', gui)).code).toBe(1);
    expect((await cli('analyze', 'test/corpus-regressions/hostile-clienthello.pcap', '--node', '10.0.0.0/8', '--format', 'html', '--output', hostile)).code).toBe(1);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Opens a report; records console errors, dialogs and every request other than the file itself. */
  /** Clicks the middle of an arrow's path where it is drawn (real hit testing, not a synthetic event). */
  async function clickArrow(page: Page, edge: ReturnType<Page['locator']>): Promise<void> {
    const { x, y } = await edge.locator('path.line').evaluate((p) => {
      const path = p as SVGPathElement;
      const pt = path.getPointAtLength(path.getTotalLength() / 2);
      const m = path.getScreenCTM();
      if (!m) throw new Error('path not rendered');
      return { x: pt.x * m.a + pt.y * m.c + m.e, y: pt.x * m.b + pt.y * m.d + m.f };
    });
    await page.mouse.click(x, y);
  }

  async function open(file: string): Promise<{ page: Page; errors: string[]; requests: string[]; dialogs: string[] }> {
    const url = pathToFileURL(file).href;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(url, { waitUntil: 'load' });
    return { page, errors, requests, dialogs };
  }

  it('renders the gui-exposed capture: graph, matrix, violations, no network', async () => {
    const { page, errors, requests } = await open(gui);
    expect(await page.title()).toBe('netmatrix: VIOLATIONS');

    const edge = (client: string, server: string, port: number, service: string) =>
      page.locator(`g.edge[data-client="${client}"][data-server="${server}"][data-port="${port}"][data-service="${service}"]`);
    const stroke = (client: string, server: string, port: number, service: string) =>
      edge(client, server, port, service).locator('path.line').evaluate((p) => getComputedStyle(p).stroke);

    expect(await page.locator('g.edge').count()).toBe(3);
    const red = 'rgb(198, 40, 40)';
    const green = 'rgb(46, 125, 50)';
    for (const client of ['10.77.0.66', '10.77.0.3']) {
      await expect.poll(() => edge(client, '10.77.0.2', 8484, 'http').getAttribute('class')).toBe('edge violation');
      expect(await edge(client, '10.77.0.2', 8484, 'http').getAttribute('data-flows')).toBe('1');
      expect(await stroke(client, '10.77.0.2', 8484, 'http')).toBe(red);
    }
    const grpc = edge('10.77.0.2', '10.77.0.1', 50051, 'tls');
    expect(await grpc.getAttribute('class')).toBe('edge allowed');
    expect(await grpc.getAttribute('data-flows')).toBe('4');
    expect(await stroke('10.77.0.2', '10.77.0.1', 50051, 'tls')).toBe(green);
    expect(await grpc.locator('title').textContent()).toContain('10.77.0.2 (node node1) -> 10.77.0.1:50051 (researcher researcher) tcp tls');

    // Host boxes: IP, role and inventory name, in role columns.
    expect(await page.locator('g.box[data-ip="10.77.0.2"][data-role="node"][data-host="node1"]').count()).toBe(1);
    expect(await page.locator('g.box[data-ip="10.77.0.66"][data-role="internet"]').count()).toBe(1);
    expect(await page.locator('svg#comm-graph text.colhead').allTextContents()).toEqual(['researcher', 'nodes', 'internet']);

    // Clicking an arrow lists the flows behind it.
    await clickArrow(page, edge('10.77.0.66', '10.77.0.2', 8484, 'http'));
    const details = page.locator('#details');
    await expect.poll(() => details.locator('li').count()).toBe(1);
    expect(await details.locator('h3').textContent()).toContain('10.77.0.66 (internet) -> 10.77.0.2:8484 (node node1) tcp http');
    expect(await details.locator('li').first().textContent()).toMatch(/10\.77\.0\.66:\d+ -> 10\.77\.0\.2:8484 violation \[inbound-to-node, gui-not-localhost\]/);
    await clickArrow(page, grpc);
    await expect.poll(() => details.locator('li').count()).toBe(4);

    // The matrix: the gRPC row seen, the GUI row violated, the rest not seen.
    const row = (id: string) => page.locator(`#matrix tr[data-rule="${id}"]`);
    expect(await row('node-researcher-grpc').getAttribute('data-state')).toBe('seen');
    expect(await row('node-researcher-grpc').locator('.state').textContent()).toBe('seen');
    expect(await row('node-researcher-grpc').locator('td.num').allTextContents()).toEqual(['4', '0', '0']);
    expect(await row('node-gui').getAttribute('data-state')).toBe('violated');
    expect(await row('node-gui').locator('td.num').allTextContents()).toEqual(['0', '0', '2']);
    expect(await row('secagg-node').getAttribute('data-state')).toBe('not-seen');

    // Violations in red, with evidence.
    const codes = page.locator('#findings tr.sev-violation td.code');
    expect((await codes.allTextContents()).sort()).toEqual(['gui-not-localhost', 'gui-not-localhost', 'inbound-to-node', 'inbound-to-node']);
    for (const c of await codes.all()) expect(await c.evaluate((e) => getComputedStyle(e).color)).toBe(red);
    expect(await page.locator('#findings tr.sev-violation td.ev').first().textContent()).toMatch(/^GET \S+ host=/);
    expect(await page.locator('#timeline circle.violation').count()).toBe(4);
    expect(await page.locator('#summary .banner').textContent()).toContain('exit 1');

    // Screenshot for the documentation, with a violating arrow selected.
    await clickArrow(page, edge('10.77.0.66', '10.77.0.2', 8484, 'http'));
    await expect.poll(() => details.locator('li').count()).toBe(1);
    if (process.env.NETMATRIX_UPDATE_SCREENSHOT) mkdirSync('docs', { recursive: true });
    // The README's screenshot is refreshed on request only; a test run leaves the tree as it is.
    const shot = process.env.NETMATRIX_UPDATE_SCREENSHOT ? 'docs/report.png' : join(tmpdir(), `nm-report-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    expect(statSync(shot).size).toBeLessThan(400_000);

    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('a hostile ClientHello cannot run script or inject markup', async () => {
    const html = readFileSync(hostile, 'utf8');
    expect(html).not.toMatch(RAW_CONTROLS);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    const { page, errors, requests, dialogs } = await open(hostile);
    // Click every arrow, the TLS one last: the details panel renders packet strings too.
    for (const e of await page.locator('g.edge:not([data-port="443"])').all()) await clickArrow(page, e);
    await clickArrow(page, page.locator('g.edge[data-port="443"]'));
    await page.waitForTimeout(200);
    expect(dialogs).toEqual([]);
    // The payloads would call alert() (a dialog) or set a global: neither happened.
    await page.evaluate(() => undefined);
    expect(await page.evaluate(() => typeof Reflect.get(window, 'pwned'))).toBe('undefined');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(2); // the JSON data block and the report's own script
    const text = await page.locator('body').innerText();
    expect(text).toContain('<script>alert(1)</script>');
    expect(text).toContain('<img src=x onerror=alert(1)>');
    expect(text).toContain('\\x1b]0;pwned\\x07');
    expect(await page.locator('#details').innerText()).toContain('<script>alert(1)</script>');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
