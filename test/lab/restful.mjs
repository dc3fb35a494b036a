#!/usr/bin/env node
// Stand-in for Fed-BioMed's "restful" file service before 5.0 (Django under
// gunicorn, published on TCP/8844 by envs/development/network): components
// upload model and parameter files with an HTTP multipart POST to /upload/
// and get back the URL to download them from (fedbiomed/common/repository.py).
//
//   node restful.mjs [--host 0.0.0.0] [--port 8844]
//
// POST /upload/          stores the request body (curl -F file=@...), answers
//                        201 JSON {"file": "http://HOST:PORT/media/uploads/upload-N.bin"}
// GET  /media/uploads/X  the stored bytes (404 JSON otherwise)
// Prints "listening HOST:PORT" on stdout when ready; stops on SIGINT/SIGTERM.
import http from 'node:http';
import { parseArgs, log } from './common.mjs';

const opts = parseArgs(process.argv.slice(2));
const host = opts.host ?? '0.0.0.0';
const port = Number(opts.port ?? 8844);
const files = new Map();
let uploads = 0;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    log('restful', `${req.socket.remoteAddress} ${req.method} ${req.url} (${body.length} bytes in)`);
    let status = 404;
    let out = Buffer.from('{"detail": "not found"}\n');
    let type = 'application/json';
    if (req.method === 'POST' && req.url === '/upload/') {
      const name = `upload-${++uploads}.bin`;
      files.set(name, body);
      status = 201;
      out = Buffer.from(`${JSON.stringify({ file: `http://${req.headers.host ?? `${host}:${port}`}/media/uploads/${name}` })}\n`);
    } else if (req.method === 'GET' && req.url?.startsWith('/media/uploads/')) {
      const blob = files.get(req.url.slice('/media/uploads/'.length));
      if (blob) {
        status = 200;
        out = blob;
        type = 'application/octet-stream';
      }
    }
    res.writeHead(status, { 'content-type': type, 'content-length': out.length, connection: 'close' });
    res.end(out);
  });
});

server.listen(port, host, () => process.stdout.write(`listening ${host}:${port}\n`));
const stop = () => process.exit(0);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
