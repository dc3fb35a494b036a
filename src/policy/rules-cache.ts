/**
 * The shipped rule sets, precompiled at build time (`npm run build` writes dist/rules-cache.json):
 * loading the yaml package and parsing the YAML takes about a tenth of a second of a run, longer
 * than judging a small capture. Each entry keeps the YAML text it was compiled from, and is used only
 * while the file in rules/ still has exactly that text: an edited rule file is parsed again, so the
 * cache can be stale but never wrong. Under vitest (src/) there is no cache and every file is parsed.
 *
 *   node dist/policy/rules-cache.js --write    (part of npm run build)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBuildStep } from '../support/build-step.js';
import { parseRuleFile, type RuleFile } from './schema.js';

interface CacheEntry {
  text: string;
  /** The RuleFile as compiled, JSON (parsed afresh on each use, so callers may change their copy). */
  parsed: string;
}

const CACHE_URL = new URL('../rules-cache.json', import.meta.url);

function rulesDir(): string {
  return fileURLToPath(new URL('../../rules/', import.meta.url));
}

let cache: Map<string, CacheEntry> | null | undefined;

function loadCache(): Map<string, CacheEntry> | null {
  if (cache !== undefined) return cache;
  try {
    const raw = JSON.parse(readFileSync(CACHE_URL, 'utf8')) as Record<string, CacheEntry>;
    cache = new Map(Object.entries(raw));
  } catch {
    cache = null; // no cache (running from src/, or not built): parse the YAML
  }
  return cache;
}

/**
 * The compiled rule file for `path` (a file of the shipped rules/ folder) when its text is the one
 * compiled; undefined otherwise. Row sources (`file:line`) name `path`.
 */
export function cachedRuleFile(path: string, text: string): RuleFile | undefined {
  const dir = rulesDir();
  if (!path.startsWith(dir)) return undefined;
  const entry = loadCache()?.get(path.slice(dir.length));
  if (entry === undefined || entry.text !== text) return undefined;
  const parsed = JSON.parse(entry.parsed) as RuleFile;
  const from = `${parsed.file}:`;
  const relocate = (source: string): string => (source.startsWith(from) ? `${path}:${source.slice(from.length)}` : source);
  for (const row of parsed.rows) row.source = relocate(row.source);
  for (const row of parsed.outOfScope) row.source = relocate(row.source);
  parsed.file = path;
  return parsed;
}

/** Compiles every shipped rule file (throws on the first invalid one: the build fails). */
export function compileRules(): Record<string, CacheEntry> {
  const dir = rulesDir();
  const out: Record<string, CacheEntry> = {};
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const path = join(dir, name);
    const text = readFileSync(path, 'utf8');
    out[name] = { text, parsed: JSON.stringify(parseRuleFile(path, text)) };
  }
  return out;
}

if (isBuildStep(import.meta.url, 'rules-cache.js')) {
  writeFileSync(CACHE_URL, `${JSON.stringify(compileRules())}\n`);
}
