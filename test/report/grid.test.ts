/**
 * The table report draws its tables with drawGrid and falls back to cli-table3 for cells drawGrid
 * does not take: both must print the same bytes. Generated tables (fixed seed) with what the report's
 * cells hold: spaces (leading, trailing, runs), painted cells, empty cells, cells longer than their
 * column, auto widths and terminal widths.
 */
import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { drawGrid } from '../../src/report/grid.js';
import { floats } from '../helpers/random.mjs';

function cliTable3(head: string[], rows: string[][], colWidths?: number[]): string {
  const options: Table.TableConstructorOptions = { head, style: { head: [], border: [], compact: false }, wordWrap: true, wrapOnWordBoundary: false };
  if (colWidths) options.colWidths = colWidths;
  const t = new Table(options);
  for (const r of rows) t.push(r);
  return t.toString();
}

const PIECES = ['a', 'tcp/50051', ' ', '  ', 'x'.repeat(40), '10.20.1.7:443 (node)', 'sni=\\x1b]0;evil', '-', '', 'GET /index.html', '|', '\\\\'];
const COLOURS = ['\u001b[31m', '\u001b[32m', '\u001b[33m', '\u001b[1m'];

function cell(rand: () => number): string {
  let s = '';
  const parts = Math.floor(rand() * 5);
  for (let i = 0; i < parts; i++) s += PIECES[Math.floor(rand() * PIECES.length)]!;
  if (rand() < 0.15) return `${COLOURS[Math.floor(rand() * COLOURS.length)]!}${s}\u001b[0m`;
  return s;
}

describe('drawGrid', () => {
  it('prints what cli-table3 prints, with and without terminal widths', () => {
    const rand = floats(14);
    let drawn = 0;
    for (let t = 0; t < 600; t++) {
      const columns = 1 + Math.floor(rand() * 7);
      const head = Array.from({ length: columns }, () => cell(rand));
      const rows = Array.from({ length: Math.floor(rand() * 6) }, () => Array.from({ length: columns }, () => cell(rand)));
      const colWidths = rand() < 0.5 ? undefined : Array.from({ length: columns }, () => 3 + Math.floor(rand() * 30));
      const fast = drawGrid(head, rows, colWidths);
      if (fast === undefined) continue; // a painted cell that would wrap: cli-table3's to draw
      drawn++;
      expect({ head, rows, colWidths, text: fast }).toEqual({ head, rows, colWidths, text: cliTable3(head, rows, colWidths) });
    }
    expect(drawn).toBeGreaterThan(350);
  });

  it('the report tables: overview with colours, findings at a terminal width', () => {
    const overview = [
      ['internet -> node', 'tcp/9', 'unknown', '-', '\u001b[31mviolation\u001b[0m', '3', '252'],
      ['node -> researcher', 'tcp/50051', 'tls', 'node-researcher-grpc', '\u001b[32mallowed\u001b[0m', '12600', '91234567'],
      ['(more groups)', '', '', '', '', '5768', '510560'],
    ];
    const head = ['client -> server', 'port', 'service', 'rule', 'verdict', 'flows', 'bytes'].map((h) => `\u001b[1m${h}\u001b[0m`);
    expect(drawGrid(head, overview)).toBe(cliTable3(head, overview));
    const findings = [
      [
        '2026-12-01T10:00:00.123456Z',
        'unexpected-inbound-connection',
        '203.0.113.9:51234 (internet)',
        '10.20.1.7:8484 (node)',
        'tls 1.3 sni=\\x1b]0;pwned\\x07.evil alpn=h2,http/1.1 established',
        'no rule of the matrix allows internet -> node on tcp/8484',
      ],
    ];
    const fhead = ['time', 'code', 'client', 'server', 'evidence', 'reason'];
    for (const widths of [[29, 19, 24, 24, 16, 16], [29, 19, 24, 24, 40, 40]]) {
      expect(drawGrid(fhead, findings, widths)).toBe(cliTable3(fhead, findings, widths));
    }
  });

  it('leaves to cli-table3 the cells whose width on screen is not their length', () => {
    for (const odd of ['sni=例え.jp', 'e\u0301', '😀', 'tab\there', '\u001b[38;5;1mx\u001b[0m', '\u001b[31mopen']) {
      expect(drawGrid(['a', 'b'], [['x', odd]])).toBeUndefined();
    }
    // A painted cell longer than its column: cli-table3 cuts it by its raw length, codes included.
    expect(drawGrid(['a'], [['\u001b[31mviolation\u001b[0m']], [12])).toBeUndefined();
  });
});
