// Shared helpers for the recording-lab scripts (test/lab/*.mjs).
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const LAB_DIR = path.dirname(fileURLToPath(import.meta.url));
export const PROTO_PATH = path.join(LAB_DIR, 'researcher.proto');

/**
 * Minimal argv parser: `--flag` → true, `--key value` → 'value',
 * anything else is positional. Keys listed in `multi` take N values.
 */
export function parseArgs(argv, { multi = {} } = {}) {
  const opts = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      opts._.push(a);
      continue;
    }
    const key = a.slice(2);
    const n = multi[key];
    if (n !== undefined) {
      opts[key] = argv.slice(i + 1, i + 1 + n);
      i += n;
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      opts[key] = argv[++i];
    } else {
      opts[key] = true;
    }
  }
  return opts;
}

export async function loadResearcherService() {
  const grpc = await import('@grpc/grpc-js');
  const protoLoader = await import('@grpc/proto-loader');
  const def = protoLoader.loadSync(PROTO_PATH, {
    keepCase: true,
    longs: Number,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def);
  return { grpc, ResearcherService: pkg.fedbiomed.lab.ResearcherService };
}

export function log(who, ...args) {
  process.stderr.write(`[${who}] ${args.join(' ')}\n`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Deterministic filler bytes so captures are reproducible in size. */
export function filler(len, seed = 0) {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}
