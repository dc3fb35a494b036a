#!/usr/bin/env node
// Stand-in for MP-SPDZ secure-aggregation key negotiation (MP-SPDZ is not
// packaged on the lab machine): a plain TCP peer exchanging length-prefixed
// frames of fake "key material". It is also used as a generic TCP service
// (e.g. the unexpected listener on node1:9000 in the node-inbound scenario).
//
//   node secagg.mjs --listen PORT [--host 0.0.0.0] [--hold]
//       server: for every frame received, answers with a frame of its own;
//       closes its side once the client has closed (or, with --hold, never:
//       the connection stays open until the process is killed).
//       Prints "listening HOST:PORT" on stdout when ready.
//   node secagg.mjs --connect HOST PORT [--frames 3] [--size 1024] [--hold]
//       client: sends --frames frames of --size bytes, reads the replies,
//       then closes; with --hold it keeps the connection open until killed
//       (prints "holding" on stdout once the exchange is done).
import net from 'node:net';
import { parseArgs, log, filler } from './common.mjs';

const opts = parseArgs(process.argv.slice(2), { multi: { connect: 2 } });
const hold = Boolean(opts.hold);

/** Split a byte stream into 4-byte-length-prefixed frames. */
function framer(onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (buf.length < 4 + len) break;
      onFrame(buf.subarray(4, 4 + len));
      buf = buf.subarray(4 + len);
    }
  };
}

function frame(payload) {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length, 0);
  return Buffer.concat([h, payload]);
}

if (opts.listen) {
  const who = `secagg:${opts.listen}`;
  const server = net.createServer((sock) => {
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    let n = 0;
    sock.on(
      'data',
      framer((f) => {
        n++;
        sock.write(frame(Buffer.concat([Buffer.from(`ack ${n} `), filler(f.length, n + 100)])));
      }),
    );
    sock.on('end', () => {
      log(who, `${peer}: ${n} frame(s), peer closed`);
      if (!hold) sock.end();
    });
    sock.on('error', (e) => log(who, `${peer}: ${e.code ?? e.message}`));
  });
  const host = opts.host ?? '0.0.0.0';
  server.listen(Number(opts.listen), host, () => {
    process.stdout.write(`listening ${host}:${opts.listen}\n`);
  });
  const stop = () => process.exit(0);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else if (opts.connect) {
  const [host, portStr] = opts.connect;
  const frames = Number(opts.frames ?? 3);
  const size = Number(opts.size ?? 1024);
  const who = `secagg->${host}:${portStr}`;
  const sock = net.connect({ host, port: Number(portStr) });
  let got = 0;
  let sent = 0;
  const sendNext = () => {
    sock.write(frame(filler(size, sent)));
    sent++;
  };
  sock.on('connect', sendNext);
  sock.on(
    'data',
    framer(() => {
      got++;
      if (sent < frames) sendNext();
      else if (got >= frames) {
        log(who, `exchanged ${frames} frame(s)`);
        if (hold) process.stdout.write('holding\n');
        else sock.end();
      }
    }),
  );
  sock.on('close', () => process.exit(got >= frames ? 0 : 1));
  sock.on('error', (e) => {
    log(who, e.code ?? e.message);
    process.exit(1);
  });
  const stop = () => process.exit(0);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  log('secagg', 'usage: secagg.mjs --listen PORT [--hold] | --connect HOST PORT [--hold]');
  process.exit(2);
}
