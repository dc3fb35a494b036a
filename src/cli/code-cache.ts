/**
 * The command's bundle with a V8 code cache. `npm run build` bundles the command (cli/main.ts) into
 * dist/bin/main.cjs, then runs it once on fixture captures and keeps the bytecode V8 compiled for it
 * (`node dist/cli/code-cache.js --write` writes dist/bin/main.cache). The shipped `netmatrix`
 * (dist/bin/netmatrix.cjs, from cli/netmatrix.ts) loads the bundle with that cache, so a
 * run does not parse and compile the same code again: about 20 ms of every start-up, a sixth of a
 * small capture's run. (Node 22 has this built in as module.enableCompileCache; Node 20 does not.)
 *
 * V8 checks the cache against the source, its own version and its flags; a cache it rejects is
 * ignored and the bundle compiled as usual. Without a cache file the bundle is simply required.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { isBuildStep } from '../support/build-step.js';

export const MAIN_BUNDLE = 'main.cjs';
export const MAIN_CACHE = 'main.cache';

type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** The bundle as a CommonJS module function (the wrapper Node itself uses), with `cachedData` when given. */
export function compileBundle(file: string, cachedData?: Buffer): Script {
  // A leading #! line is blanked, not removed, so that line numbers stay.
  const source = readFileSync(file, 'utf8').replace(/^#![^\n]*/, '');
  return new Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n});`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
}

/** Runs a compiled bundle as the CommonJS module `file`. */
export function runBundle(script: Script, file: string): void {
  const fn = script.runInThisContext() as ModuleFunction;
  const module = { exports: {} };
  fn.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}

/** Loads the command's bundle (main.cjs) from `dir`, with its code cache when there is one. */
export function loadCommand(dir: string): void {
  const file = join(dir, MAIN_BUNDLE);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(join(dir, MAIN_CACHE));
  } catch {
    cachedData = undefined;
  }
  if (cachedData === undefined) {
    createRequire(file)(file);
    return;
  }
  runBundle(compileBundle(file, cachedData), file);
}

/**
 * The build's step: runs the bundle on fixture captures (JSON report to a temporary file) and
 * writes the bytecode V8 compiled meanwhile. Skipped, with a note, when the fixtures are not there.
 */
function writeCache(): void {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin');
  const file = join(dir, MAIN_BUNDLE);
  const captures = ['node-clean.pcapng', 'node-gui-exposed.pcap', 'node-h2c.pcap', 'node-secagg-open.pcap', 'vpn-tunnel.pcap'].map((c) => join('captures', c));
  const hosts = join('captures', 'lab.hosts.yaml');
  if (![...captures, hosts].every((f) => existsSync(f))) {
    process.stderr.write('code-cache: fixture captures not found (run from the repository): no code cache, the command compiles as usual\n');
    return;
  }
  const out = join(dir, `.code-cache-run.${process.pid}.json`);
  process.argv = [process.argv[0] as string, file, 'analyze', ...captures, '--hosts', hosts, '--format', 'json', '--output', out];
  const script = compileBundle(file);
  runBundle(script, file);
  process.once('beforeExit', () => {
    rmSync(out, { force: true });
    // The run's own exit status: 0 compliant, 1 violations (expected: these fixtures have some).
    if (process.exitCode !== 0 && process.exitCode !== 1) throw new Error(`code-cache: the warm-up run failed (exit ${String(process.exitCode)})`);
    writeFileSync(join(dir, MAIN_CACHE), script.createCachedData());
    process.exitCode = 0;
  });
}

if (isBuildStep(import.meta.url, 'code-cache.js')) {
  writeCache();
}
