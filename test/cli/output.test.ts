import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputFile, TextBuffer } from '../../src/cli/output.js';

const dir = mkdtempSync(join(os.tmpdir(), 'netmatrix-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A TextBuffer whose writes are copied out (the buffer is reused) and counted. */
function collect(): { text: TextBuffer; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const text = new TextBuffer((bytes) => chunks.push(Buffer.from(bytes)));
  return { text, chunks };
}

describe('TextBuffer (report text gathered as UTF-8)', () => {
  it('hands on nothing until flushed, then every piece in order as UTF-8', () => {
    const { text, chunks } = collect();
    const pieces = ['{"a":1}', 'é ü', '\u2028', '😀', '', 'plain'];
    for (const p of pieces) text.write(p);
    expect(chunks).toHaveLength(0);
    text.flush();
    text.flush(); // nothing more gathered: nothing more handed on
    expect(chunks).toHaveLength(1);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(pieces.join(''));
  });

  it('keeps order across many flushes and never splits a character between two writes', () => {
    const { text, chunks } = collect();
    let expected = '';
    for (let i = 0; i < 20_000; i++) {
      const piece = `${i}:é😀${'x'.repeat(i % 97)}|`;
      expected += piece;
      text.write(piece);
    }
    text.flush();
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(Buffer.from(c.toString('utf8'), 'utf8').equals(c)).toBe(true); // each chunk is whole UTF-8
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected);
  });

  it('writes a piece larger than its buffer on its own, after what was gathered before', () => {
    const { text, chunks } = collect();
    const big = 'é'.repeat(300_000);
    text.write('before');
    text.write(big);
    text.write('after');
    text.flush();
    expect(chunks.map((c) => c.length)).toEqual([6, 600_000, 5]);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(`before${big}after`);
  });

  it('discard forgets what was gathered', () => {
    const { text, chunks } = collect();
    text.write('lost');
    text.discard();
    text.write('kept');
    text.flush();
    expect(Buffer.concat(chunks).toString('utf8')).toBe('kept');
  });
});

describe('OutputFile', () => {
  it('holds the text under a temporary name until commit, then the file has all of it', () => {
    const path = join(dir, 'report.json');
    const out = new OutputFile(path);
    let expected = '';
    for (let i = 0; i < 50_000; i++) {
      const piece = `{"flow":${i},"sni":"é"}\n`;
      expected += piece;
      out.write(piece);
    }
    expect(readdirSync(dir).filter((f) => f === 'report.json')).toEqual([]);
    out.commit();
    expect(readFileSync(path, 'utf8')).toBe(expected);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('abort leaves neither the file nor the temporary one', () => {
    const path = join(dir, 'aborted.json');
    const out = new OutputFile(path);
    out.write('x'.repeat(1_000_000));
    out.abort();
    expect(readdirSync(dir).filter((f) => f.includes('aborted'))).toEqual([]);
  });
});
