#!/usr/bin/env node
// Stand-in for a GUI or web service (node GUI on 8484, Jupyter on 8888, an
// "internet" web server during installation, ...): a tiny node:http (or
// node:https with --tls) server answering GET /.
//
//   node gui.mjs [--host 127.0.0.1] [--port 8484] [--name node-gui]
//                [--tls --cert CERT.pem --key KEY.pem]
// Prints "listening HOST:PORT" on stdout when ready; stops on SIGINT/SIGTERM.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { parseArgs, log } from './common.mjs';

const opts = parseArgs(process.argv.slice(2));
const host = opts.host ?? '127.0.0.1';
const port = Number(opts.port ?? 8484);
const name = opts.name ?? 'gui';

const handler = (req, res) => {
  log(name, `${req.socket.remoteAddress} ${req.method} ${req.url}`);
  const body = `<!doctype html><title>${name}</title><p>${name} on ${host}:${port}</p>\n`;
  res.writeHead(req.url === '/' ? 200 : 404, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
};

const server = opts.tls
  ? https.createServer({ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) }, handler)
  : http.createServer(handler);

server.listen(port, host, () => {
  process.stdout.write(`listening ${host}:${port} ${opts.tls ? 'https' : 'http'}\n`);
});
const stop = () => process.exit(0);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
