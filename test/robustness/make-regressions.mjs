#!/usr/bin/env node
/**
 * Writes the crafted captures of test/corpus-regressions/ that found bugs (see its README.md), gzipped
 * when that keeps them under 4 KB. Deterministic: the same bytes every time.
 *
 * Usage: node test/robustness/make-regressions.mjs [DIR]   (default: test/corpus-regressions)
 * The hostile ClientHello fixture has its own script: make-hostile.mjs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BOM = 0x1a2b3c4d;

/** Little-endian SHB (28 bytes) and, unless linkType is undefined, one IDB (20 bytes). */
function sectionStart(b, linkType) {
  b.writeUInt32LE(0x0a0d0d0a, 0);
  b.writeUInt32LE(28, 4);
  b.writeUInt32LE(BOM, 8);
  b.writeUInt16LE(1, 12);
  b.writeInt32LE(-1, 16);
  b.writeInt32LE(-1, 20);
  b.writeUInt32LE(28, 24);
  if (linkType === undefined) return 28;
  idb(b, 28, linkType);
  return 48;
}

function idb(b, at, linkType) {
  b.writeUInt32LE(1, at);
  b.writeUInt32LE(20, at + 4);
  b.writeUInt16LE(linkType, at + 8);
  b.writeUInt32LE(65535, at + 12);
  b.writeUInt32LE(20, at + 16);
}

/**
 * A corrupt block, then 1 MiB of candidate blocks (EPB type, length 1 MiB - 8) whose trailing copy
 * never matches, then 1 MiB of zeros. Resynchronisation checked each candidate against a full 1 MiB
 * read buffer: every 8-byte step copied the buffer and read 8 bytes (4 s here; 3 min with 16 MiB
 * claims in an 18 MB file).
 */
export function resyncClaims() {
  const claim = 1024 * 1024 - 8;
  const window = 1024 * 1024;
  const b = Buffer.alloc(48 + 8 + window + 1024 * 1024);
  let o = sectionStart(b, 1);
  b.writeUInt32LE(6, o);
  b.writeUInt32LE(13, o + 4); // impossible total length: corrupt, resynchronise
  o += 8;
  for (let p = o; p + 8 <= o + window; p += 8) {
    b.writeUInt32LE(6, p);
    b.writeUInt32LE(claim, p + 4);
  }
  return b;
}

/** 70,000 interface description blocks of an unsupported link type: 70,000 warning lines on stderr. */
export function manyInterfaces() {
  const n = 70_000;
  const b = Buffer.alloc(48 + 20 * n);
  sectionStart(b, 1);
  for (let i = 0; i < n; i++) idb(b, 48 + 20 * i, 160);
  return b;
}

export const REGRESSIONS = {
  'pcapng-resync-1mib-claims.pcapng.gz': resyncClaims,
  'pcapng-70000-interfaces.pcapng.gz': manyInterfaces,
};

/** gzip with fixed settings (the header holds no name and no time: the bytes are reproducible). */
export function gzip(bytes) {
  return gzipSync(bytes, { level: 9 });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../corpus-regressions/', import.meta.url));
  for (const [name, build] of Object.entries(REGRESSIONS)) {
    const out = gzip(build());
    writeFileSync(join(dir, name), out);
    process.stdout.write(`wrote ${join(dir, name)} (${out.length} bytes)\n`);
  }
}
