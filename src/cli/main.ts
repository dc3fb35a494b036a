#!/usr/bin/env node
import { writeSync } from 'node:fs';
import { run } from './run.js';

/**
 * stdout is written synchronously, waiting for the reader when a pipe is full. process.stdout.write
 * on a pipe queues in memory whatever the reader has not taken yet, and analyze never yields to the
 * event loop while it reads: `netmatrix analyze scan.pcap --format jsonl | gzip` would hold the whole
 * report in memory (2.4 GB of RSS for a 1M-flow capture at --max-flows 20000). Waiting keeps memory
 * bounded by --max-flows whatever the consumer's speed.
 */
const pause = new Int32Array(new SharedArrayBuffer(4));
let stdoutGone = false;
function writeStdout(text: string | Uint8Array): void {
  if (stdoutGone) return;
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 1); // non-blocking pipe full: give the reader a millisecond
        continue;
      }
      if (code === 'EPIPE') {
        stdoutGone = true; // the reader went away (`| head`): nothing more to write
        return;
      }
      throw e;
    }
  }
}

// No top-level await: the shipped command is a CommonJS bundle of this file (see package.json "bundle").
void run(process.argv.slice(2), {
  stdout: writeStdout,
  stdoutBytes: writeStdout,
  stderr: (text) => process.stderr.write(text),
  stdoutIsTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  ...(process.stdout.columns ? { columns: process.stdout.columns } : {}),
}).then((code) => {
  process.exitCode = code;
});
