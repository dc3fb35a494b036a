/**
 * The precompiled rules (dist/rules-cache.json, written by npm run build) must give exactly what
 * parsing the YAML gives, and never serve a file whose text changed. The built CLI (dist/, with the
 * cache) is compared with the sources (src/ under vitest, no cache: every file parsed).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinMatrices, builtinRulesDir, loadRuleSet } from '../../src/policy/load.js';

const DIST_LOAD = 'dist/policy/load.js';
const DIST_CACHE = 'dist/policy/rules-cache.js';

function inDist(script: string): unknown {
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('precompiled rule sets', () => {
  it('the build wrote the cache (npm test builds first)', () => {
    expect(existsSync('dist/rules-cache.json')).toBe(true);
    const cache = JSON.parse(readFileSync('dist/rules-cache.json', 'utf8')) as Record<string, unknown>;
    expect(Object.keys(cache).sort()).toEqual(builtinMatrices().map((m) => `${m}.yaml`).sort());
  });

  it('every shipped matrix and phase loads the same from the cache as from the YAML', () => {
    const sets: [string, 'run' | 'install'][] = [];
    for (const m of builtinMatrices()) {
      for (const phase of ['run', 'install'] as const) {
        try {
          loadRuleSet(m, phase);
          sets.push([m, phase]);
        } catch {
          // e.g. `install` itself as a run-time matrix: an error either way, checked elsewhere
        }
      }
    }
    expect(sets.length).toBeGreaterThan(8);
    const fromDist = inDist(
      `import { loadRuleSet } from './${DIST_LOAD}'; console.log(JSON.stringify(${JSON.stringify(sets)}.map(([m, p]) => loadRuleSet(m, p))));`,
    ) as unknown[];
    expect(fromDist).toEqual(sets.map(([m, p]) => JSON.parse(JSON.stringify(loadRuleSet(m, p)))));
  });

  it('a served entry is the one compiled from that exact text; a changed file is parsed again', () => {
    const path = join(builtinRulesDir(), 'native.yaml');
    const text = readFileSync(path, 'utf8');
    const r = inDist(
      `import { cachedRuleFile } from './${DIST_CACHE}';
       const t = ${JSON.stringify(text)};
       const hit = cachedRuleFile(${JSON.stringify(path)}, t);
       const edited = cachedRuleFile(${JSON.stringify(path)}, t.replace('50051', '50052'));
       const elsewhere = cachedRuleFile('/tmp/native.yaml', t);
       console.log(JSON.stringify({ hit: hit?.rows.length ?? null, source: hit?.rows[0]?.source ?? null, edited: edited ?? null, elsewhere: elsewhere ?? null }));`,
    ) as { hit: number | null; source: string | null; edited: null; elsewhere: null };
    expect(r.hit).toBe(loadRuleSet('native').rows.filter((row) => row.source.startsWith(path)).length);
    expect(r.source).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+$`));
    expect(r.edited).toBeNull();
    expect(r.elsewhere).toBeNull();
  });
});
