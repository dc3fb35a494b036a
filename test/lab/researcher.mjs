#!/usr/bin/env node
// Stand-in for the Fed-BioMed researcher's gRPC server.
//
//   node researcher.mjs --cert CHAIN.pem --key KEY.pem [--host 0.0.0.0] [--port 50051] [--tasks 3]
//   node researcher.mjs --insecure [--host 0.0.0.0] [--port 50051]
//
// With certificates: a real @grpc/grpc-js server using ServerCredentials.createSsl
// (TLS, the h2 ALPN protocol is negotiated by grpc-js / node:http2).
// With --insecure: plaintext HTTP/2 (h2c, prior knowledge).
// Prints "listening HOST:PORT" on stdout when ready; stops on SIGINT/SIGTERM.
import fs from 'node:fs';
import { parseArgs, loadResearcherService, log, filler } from './common.mjs';

const opts = parseArgs(process.argv.slice(2));
const host = opts.host ?? '0.0.0.0';
const port = Number(opts.port ?? 50051);
const tasks = Number(opts.tasks ?? 3);
const who = 'researcher';

const { grpc, ResearcherService } = await loadResearcherService();

const server = new grpc.Server();
server.addService(ResearcherService.service, {
  GetTaskUnary(call) {
    const node = call.request.node;
    log(who, `GetTaskUnary from ${node} (protocol ${call.request.protocol_version})`);
    let i = 0;
    const sendNext = () => {
      if (i >= tasks) {
        call.end();
        return;
      }
      const payload = filler(256, i);
      call.write({ size: tasks, iteration: i + 1, bytes_: payload });
      i++;
      setTimeout(sendNext, 50);
    };
    sendNext();
  },
  ReplyTask(call, callback) {
    let n = 0;
    let bytes = 0;
    call.on('data', (m) => {
      n++;
      bytes += m.bytes_.length;
    });
    call.on('end', () => {
      log(who, `ReplyTask: ${n} chunks, ${bytes} bytes`);
      callback(null, {});
    });
    call.on('error', (e) => log(who, `ReplyTask error: ${e.message}`));
  },
  Feedback(call, callback) {
    log(who, `Feedback from ${call.request.node}: [${call.request.level}] ${call.request.msg}`);
    callback(null, {});
  },
});

let creds;
if (opts.insecure) {
  creds = grpc.ServerCredentials.createInsecure();
} else {
  if (!opts.cert || !opts.key) {
    log(who, 'need --cert and --key (or --insecure)');
    process.exit(2);
  }
  creds = grpc.ServerCredentials.createSsl(
    null,
    [{ cert_chain: fs.readFileSync(opts.cert), private_key: fs.readFileSync(opts.key) }],
    false,
  );
}

server.bindAsync(`${host}:${port}`, creds, (err, boundPort) => {
  if (err) {
    log(who, `bind failed: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write(`listening ${host}:${boundPort} ${opts.insecure ? 'h2c' : 'tls'}\n`);
});

const stop = () => {
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
