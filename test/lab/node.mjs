#!/usr/bin/env node
// Stand-in for a Fed-BioMed node's researcher client (fedbiomed/transport/client.py).
//
//   node node.mjs [--researcher 10.77.0.1] [--port 50051] [--name node1]
//                 [--liveness 2] [--liveness-interval 2000]
//                 [--target-name researcher] [--insecure] [--no-fetch]
//                 [--retry-seconds 0]
//
// What goes on the wire, in order:
//  (a) certificate fetch: a short TLS connection WITHOUT ALPN
//      (tls.connect, no ALPNProtocols, rejectUnauthorized false), read the
//      peer certificate chain, close. Fed-BioMed does this with
//      ssl.get_server_certificate() before opening its gRPC channel.
//  (b) liveness: bare TCP connect to researcher:port then immediate close,
//      --liveness times, every --liveness-interval ms.
//  (c) gRPC over TLS (grpc.credentials.createSsl(fetched root), ALPN h2,
//      grpc.ssl_target_name_override = --target-name): server-streaming
//      GetTaskUnary, client-streaming ReplyTask, unary Feedback, then the
//      channel is closed cleanly. --insecure uses plaintext h2c instead and
//      skips (a).
// --retry-seconds S: the gRPC call waits for the channel to become ready for
//      up to S seconds (grpc-js reconnects with backoff meanwhile); used for
//      the researcher-down scenario. Exit code 3 when the gRPC session failed.
import tls from 'node:tls';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { parseArgs, loadResearcherService, log, sleep, filler } from './common.mjs';

const opts = parseArgs(process.argv.slice(2));
const host = opts.researcher ?? '10.77.0.1';
const port = Number(opts.port ?? 50051);
const name = opts.name ?? 'node1';
const livenessCount = Number(opts.liveness ?? 2);
const livenessInterval = Number(opts['liveness-interval'] ?? 2000);
const targetName = opts['target-name'] ?? 'researcher';
const retrySeconds = Number(opts['retry-seconds'] ?? 0);
const who = name;

function toPem(der) {
  const b64 = der.toString('base64').match(/.{1,64}/g).join('\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** (a) ssl.get_server_certificate() equivalent: TLS without ALPN, no verification. */
function fetchCertificate() {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host, port, rejectUnauthorized: false }, () => {
      // Collect the whole chain the server sent; trust its self-signed root
      // (Fed-BioMed's researcher cert is itself self-signed: the leaf is the root).
      const pems = [];
      const seen = new Set();
      let c = sock.getPeerCertificate(true);
      while (c && c.raw && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        pems.push(toPem(c.raw));
        c = c.issuerCertificate;
      }
      const alpn = sock.alpnProtocol;
      sock.end();
      const root = pems.find((p) => {
        const x = new X509Certificate(p);
        return x.subject === x.issuer;
      });
      log(who, `fetched ${pems.length} certificate(s) from ${host}:${port} (alpn=${alpn})`);
      resolve(Buffer.from(root ?? pems[0]));
    });
    sock.on('error', reject);
  });
}

/** (b) liveness: TCP connect then close. Resolves to true when connected. */
function livenessCheck() {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.on('connect', () => {
      s.end();
      resolve(true);
    });
    s.on('error', (e) => {
      log(who, `liveness ${host}:${port}: ${e.code ?? e.message}`);
      resolve(false);
    });
    s.setTimeout(3000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function grpcSession(grpc, ResearcherService, creds) {
  const options = {};
  if (!opts.insecure) options['grpc.ssl_target_name_override'] = targetName;
  // retry quickly while waiting for the researcher (researcher-down scenario)
  options['grpc.initial_reconnect_backoff_ms'] = 500;
  options['grpc.max_reconnect_backoff_ms'] = 1500;
  const client = new ResearcherService(`${host}:${port}`, creds, options);
  const waitMs = retrySeconds > 0 ? retrySeconds * 1000 : 5000;

  try {
    // server-streaming task poll
    await new Promise((resolve, reject) => {
      // wait-for-ready is a Metadata option in grpc-js: the call then waits
      // (while the channel reconnects with backoff) instead of failing fast
      const md = new grpc.Metadata({ waitForReady: retrySeconds > 0 });
      const call = client.GetTaskUnary({ node: name, protocol_version: '5' }, md, {
        deadline: Date.now() + waitMs,
      });
      let n = 0;
      call.on('data', () => n++);
      call.on('error', reject);
      call.on('status', (st) => {
        if (st.code !== grpc.status.OK) return; // 'error' rejects
        log(who, `GetTaskUnary: received ${n} message(s)`);
        resolve();
      });
    });

    // client-streaming reply
    await new Promise((resolve, reject) => {
      const call = client.ReplyTask((err) => (err ? reject(err) : resolve()));
      for (let i = 0; i < 3; i++) call.write({ size: 3, iteration: i + 1, bytes_: filler(512, i) });
      call.end();
    });
    log(who, 'ReplyTask: done');

    // unary feedback
    await new Promise((resolve, reject) => {
      client.Feedback(
        { researcher_id: 'researcher', node: name, level: 'INFO', msg: `training done on ${name}` },
        (err) => (err ? reject(err) : resolve()),
      );
    });
    log(who, 'Feedback: done');
    return true;
  } finally {
    client.close();
  }
}

const { grpc, ResearcherService } = await loadResearcherService();

let rootCert = null;
if (!opts.insecure && !opts['no-fetch']) {
  try {
    rootCert = await fetchCertificate();
  } catch (e) {
    log(who, `certificate fetch from ${host}:${port} failed: ${e.code ?? e.message}`);
  }
}

for (let i = 0; i < livenessCount; i++) {
  if (i > 0) await sleep(livenessInterval);
  await livenessCheck();
}

const creds = opts.insecure
  ? grpc.credentials.createInsecure()
  : grpc.credentials.createSsl(rootCert ?? undefined);

let ok = false;
try {
  ok = await grpcSession(grpc, ResearcherService, creds);
} catch (e) {
  log(who, `gRPC session failed: ${e.code ?? ''} ${e.details ?? e.message}`);
}
// let the GOAWAY / FIN of the closed channel go out before exiting
await sleep(300);
process.exit(ok ? 0 : 3);
