/**
 * The source tree reads as the pipeline: every import goes to the same folder or to an earlier stage,
 * and no chain of imports comes back to where it started. Type-only imports count: a type pulled from
 * a later stage is the same dependency, only erased at run time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/**
 * Stages in pipeline order. A folder may import itself and folders of a lower rank; folders of the
 * same rank (the applications, the two bottom folders) may not import one another.
 */
export const STAGES: readonly (readonly string[])[] = [
  ['model', 'support'],
  ['capture', 'records'],
  ['decode'],
  ['flow'],
  ['classify'],
  ['policy'],
  ['engine'],
  ['infer', 'firewall', 'verify'],
  ['report'],
  ['monitor'],
  ['cli'],
];

export type Graph = Map<string, string[]>;

/** Every module of src/ (relative path) -> the src/ modules it imports (relative paths). */
function sourceGraph(): Graph {
  const graph: Graph = new Map();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const info = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
        const targets = info.importedFiles
          .map((f) => f.fileName)
          .filter((spec) => spec.startsWith('.'))
          .map((spec) => relative(SRC, resolve(dirname(path), spec)).replace(/\.js$/, '.ts'));
        graph.set(relative(SRC, path), [...new Set(targets)]);
      }
    }
  };
  walk(SRC);
  return graph;
}

const folderOf = (module: string): string => (module.includes('/') ? module.slice(0, module.indexOf('/')) : '(src root)');

export function checkGraph(graph: Graph, stages: readonly (readonly string[])[] = STAGES): string[] {
  const rank = new Map<string, number>();
  stages.forEach((folders, i) => folders.forEach((f) => rank.set(f, i)));
  const problems: string[] = [];
  for (const [from, targets] of graph) {
    const fromFolder = folderOf(from);
    const fromRank = rank.get(fromFolder);
    if (fromRank === undefined) {
      problems.push(`${from}: folder ${fromFolder} is in no stage`);
      continue;
    }
    for (const to of targets) {
      if (!graph.has(to)) {
        problems.push(`${from}: imports ${to}, which is not a module of src/`);
        continue;
      }
      const toFolder = folderOf(to);
      if (toFolder === fromFolder) continue;
      const toRank = rank.get(toFolder);
      if (toRank === undefined || toRank >= fromRank) problems.push(`${from} -> ${to}: ${fromFolder} may not import ${toFolder}`);
    }
  }
  // Cycles: depth-first search, reporting each back edge's cycle once.
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string): void => {
    state.set(m, 'open');
    stack.push(m);
    for (const next of graph.get(m) ?? []) {
      if (!graph.has(next)) continue;
      const s = state.get(next);
      if (s === 'open') problems.push(`cycle: ${[...stack.slice(stack.indexOf(next)), next].join(' -> ')}`);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(m, 'done');
  };
  for (const m of [...graph.keys()].sort()) if (!state.has(m)) visit(m);
  return problems;
}

describe('the import graph of src/', () => {
  it('has no import from a later stage into an earlier one, and no cycle', () => {
    const graph = sourceGraph();
    expect(graph.size).toBeGreaterThan(50);
    expect(checkGraph(graph)).toEqual([]);
  });

  it('every folder of src/ is a stage', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.sort()).toEqual(STAGES.flat().sort());
    expect(readdirSync(SRC).filter((e) => e.endsWith('.ts'))).toEqual([]);
  });

  it('the check itself sees a backward import, a sibling import and a cycle', () => {
    const graph: Graph = new Map([
      ['decode/a.ts', ['capture/b.ts', 'flow/c.ts']],
      ['capture/b.ts', []],
      ['flow/c.ts', ['flow/d.ts']],
      ['flow/d.ts', ['flow/c.ts']],
      ['infer/e.ts', ['verify/f.ts']],
      ['verify/f.ts', []],
    ]);
    expect(checkGraph(graph)).toEqual([
      'decode/a.ts -> flow/c.ts: decode may not import flow',
      'infer/e.ts -> verify/f.ts: infer may not import verify',
      'cycle: flow/c.ts -> flow/d.ts -> flow/c.ts',
    ]);
  });
});
