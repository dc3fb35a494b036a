/**
 * Box-drawn text tables, drawn byte for byte as cli-table3 0.6 draws them with the options the table
 * report uses (no spans, padding 1, no border or head colours, left and top alignment, `wordWrap`
 * with `wrapOnWordBoundary: false`), for the cells whose width on screen is their length: printable
 * ASCII, or printable ASCII inside one SGR code and a reset (our own colours).
 *
 * cli-table3 checks every cell against every cell before it for span conflicts and builds a styled
 * cell object for each, which made an 800-row overview cost more than the JSON report of all its
 * flows. Any other cell (wide or combining characters, other escape codes) makes `drawGrid` return
 * undefined and the caller draws the table with cli-table3; test/report/grid.test.ts holds the two
 * equal over generated tables.
 */

const PLAIN = /^[\x20-\x7e]*$/;
// eslint-disable-next-line no-control-regex
const PAINTED = /^\u001b\[\d+m([\x20-\x7e]*)\u001b\[0m$/;

/** Columns `cell` takes on screen, or -1 when its width is not its length. */
function screenWidth(cell: string): number {
  if (PLAIN.test(cell)) return cell.length;
  const m = PAINTED.exec(cell);
  return m ? m[1]!.length : -1;
}

/**
 * cli-table3's textWrap: cut at `max` UTF-16 units, whitespace runs kept except at the start of the
 * cell, an empty cell gives no line.
 */
function textWrap(max: number, input: string): string[] {
  const lines: string[] = [];
  let line = '';
  const split = input.split(/(\s+)/g);
  for (let i = 0; i < split.length; i += 2) {
    const ws = i > 0 ? split[i - 1]! : '';
    if (line.length > 0 && ws) line += ws;
    line += split[i]!;
    while (line.length > max) {
      lines.push(line.slice(0, max));
      line = line.slice(max);
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

/**
 * The table as cli-table3 would print it for `new Table({ head, colWidths, wordWrap: true,
 * wrapOnWordBoundary: false, style: { head: [], border: [] } })` with `rows` pushed, or undefined
 * when a cell is outside what this draws (then cli-table3 must draw it). `colWidths`: every column's
 * width, borders excluded, padding included; cells wrap to it. Without: each column as wide as its
 * widest cell, nothing wraps.
 */
export function drawGrid(head: string[], rows: string[][], colWidths?: number[]): string | undefined {
  const n = head.length;
  if (n === 0) return undefined;
  if (colWidths && (colWidths.length !== n || colWidths.some((w) => !Number.isInteger(w) || w < 3))) return undefined;
  const all = [head, ...rows];
  const widths = colWidths ? [...colWidths] : new Array<number>(n).fill(1);
  /** Per row, per cell: its lines, and their widths on screen. */
  const cellLines: string[][][] = [];
  const cellWidths: number[][][] = [];
  for (const row of all) {
    if (row.length !== n) return undefined;
    const lines: string[][] = [];
    const lineWidths: number[][] = [];
    for (let x = 0; x < n; x++) {
      const cell = row[x]!;
      const w = screenWidth(cell);
      if (w < 0) return undefined;
      if (colWidths) {
        const wrapped = textWrap(colWidths[x]! - 2, cell);
        if (w !== cell.length) {
          // A painted cell wraps by its length with the escape codes: only one that fits whole is drawn here.
          if (wrapped.length !== 1 || wrapped[0] !== cell) return undefined;
          lines.push(wrapped);
          lineWidths.push([w]);
        } else {
          lines.push(wrapped);
          lineWidths.push(wrapped.map((l) => l.length));
        }
      } else {
        if (w + 2 > widths[x]!) widths[x] = w + 2;
        lines.push([cell]);
        lineWidths.push([w]);
      }
    }
    cellLines.push(lines);
    cellWidths.push(lineWidths);
  }

  const rule = (left: string, mid: string, right: string): string => {
    let s = left;
    for (let x = 0; x < n; x++) s += (x > 0 ? mid : '') + '─'.repeat(widths[x]!);
    return s + right;
  };
  const out: string[] = [rule('┌', '┬', '┐')];
  const between = rule('├', '┼', '┤');
  for (let y = 0; y < all.length; y++) {
    if (y > 0) out.push(between);
    const lines = cellLines[y]!;
    const lineWidths = cellWidths[y]!;
    let height = 1;
    for (const l of lines) if (l.length > height) height = l.length;
    for (let k = 0; k < height; k++) {
      let s = '';
      for (let x = 0; x < n; x++) {
        const text = lines[x]![k];
        const w = widths[x]!;
        s += text === undefined ? `│${' '.repeat(w)}` : `│ ${text}${' '.repeat(w - 2 - lineWidths[x]![k]!)} `;
      }
      out.push(`${s}│`);
    }
  }
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}
