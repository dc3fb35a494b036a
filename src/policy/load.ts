/**
 * The only I/O of the policy stage: reading rule sets and inventories from disk. A rule set is named
 * (`native`, `vpn`, ...: a file of the shipped rules/ folder) or given as a path.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RulesError } from '../model/errors.js';
import { parseInventory, type Inventory } from './inventory.js';
import { cachedRuleFile } from './rules-cache.js';
import { parseRuleFile, type MatrixRow, type RuleFile, type ScopeRow } from './schema.js';

export interface RuleSet {
  /** Name of the main matrix (e.g. "native"). */
  name: string;
  title: string;
  phase: 'run' | 'install';
  rows: MatrixRow[];
  outOfScope: ScopeRow[];
  /** Every file that went into the set, main file first. */
  files: string[];
}

/** The shipped rules/ folder (works from src/ under vitest and from dist/ once built). */
export function builtinRulesDir(): string {
  return fileURLToPath(new URL('../../rules/', import.meta.url));
}

export function builtinMatrices(): string[] {
  return readdirSync(builtinRulesDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new RulesError(`${file}: cannot read ${what} (${reason})`);
  }
}

function resolveRuleFile(nameOrPath: string, relativeTo: string | undefined): string {
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml');
  if (!looksLikePath) {
    const builtin = join(builtinRulesDir(), `${nameOrPath}.yaml`);
    if (existsSync(builtin)) return builtin;
    if (relativeTo === undefined) {
      throw new RulesError(`unknown matrix "${nameOrPath}" (built in: ${builtinMatrices().join(', ')}; or give a path to a YAML file)`);
    }
  }
  const path = relativeTo === undefined ? resolve(nameOrPath) : resolve(relativeTo, nameOrPath);
  if (!existsSync(path) && !looksLikePath) {
    throw new RulesError(`unknown rule set "${nameOrPath}" included from ${relativeTo ?? '.'}`);
  }
  return path;
}

function loadFileTree(path: string, seen: Map<string, RuleFile>, chain: string[]): void {
  if (seen.has(path)) return;
  if (chain.includes(path)) throw new RulesError(`${path}: include cycle (${[...chain, path].join(' -> ')})`);
  const text = readText(path, 'rule set');
  const parsed = cachedRuleFile(path, text) ?? parseRuleFile(path, text);
  seen.set(path, parsed);
  for (const inc of parsed.include) loadFileTree(resolveRuleFile(inc, dirname(path)), seen, [...chain, path]);
}

/** Loads `--matrix NAME|FILE` and, for `--phase install`, the installation rows on top of it. */
export function loadRuleSet(matrix: string, phase: 'run' | 'install' = 'run'): RuleSet {
  const seen = new Map<string, RuleFile>();
  const mainPath = resolveRuleFile(matrix, undefined);
  loadFileTree(mainPath, seen, []);
  if (phase === 'install') loadFileTree(resolveRuleFile('install', undefined), seen, []);
  const main = seen.get(mainPath) as RuleFile;
  if (main.phase !== 'run' && main.rows.length > 0) {
    throw new RulesError(`${mainPath}: matrix "${main.matrix}" has phase ${main.phase}; choose a run-time matrix with --matrix and add --phase install`);
  }
  const rows: MatrixRow[] = [];
  const outOfScope: ScopeRow[] = [];
  const ids = new Map<string, string>();
  for (const file of seen.values()) {
    for (const row of [...file.rows, ...file.outOfScope]) {
      const prior = ids.get(row.id);
      if (prior) throw new RulesError(`${row.source}: row id "${row.id}" is already used at ${prior}`);
      ids.set(row.id, row.source);
    }
    rows.push(...file.rows);
    outOfScope.push(...file.outOfScope);
  }
  return { name: main.matrix, title: main.title, phase, rows, outOfScope, files: [...seen.keys()] };
}

export function loadInventoryFile(path: string): Inventory {
  return parseInventory(path, readText(path, 'inventory'));
}
