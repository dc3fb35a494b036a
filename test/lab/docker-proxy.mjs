#!/usr/bin/env node
// Stand-in for Docker's userland proxy (/usr/bin/docker-proxy, on by default:
// "userland-proxy": true). For each published port dockerd starts one, with the
// same arguments as here; it listens on the host port and opens a new TCP
// connection from the host to the container for every client it accepts.
// Docker's DNAT rules skip 127.0.0.0/8 destinations, so connections to
// 127.0.0.1:HOST_PORT on the Docker host reach the container only through it:
// on the wire, 127.0.0.1 -> 127.0.0.1:HOST_PORT on lo, then the bridge's
// gateway address -> CONTAINER_IP:CONTAINER_PORT on the bridge.
//
//   node docker-proxy.mjs -proto tcp -host-ip 0.0.0.0 -host-port 6007 \
//                         -container-ip 172.17.0.2 -container-port 6006
// Prints "listening HOST:PORT" on stdout when ready; stops on SIGINT/SIGTERM.
import net from 'node:net';
import { log } from './common.mjs';

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^-+/, '')] = argv[i + 1];
if (args.proto !== undefined && args.proto !== 'tcp') throw new Error('only -proto tcp');
const hostIp = args['host-ip'] ?? '0.0.0.0';
const hostPort = Number(args['host-port']);
const containerIp = args['container-ip'];
const containerPort = Number(args['container-port']);
const who = `docker-proxy:${hostPort}`;

const server = net.createServer((client) => {
  const upstream = net.connect({ host: containerIp, port: containerPort });
  log(who, `${client.remoteAddress}:${client.remotePort} -> ${containerIp}:${containerPort}`);
  client.pipe(upstream);
  upstream.pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
});
server.listen(hostPort, hostIp, () => process.stdout.write(`listening ${hostIp}:${hostPort}\n`));
const stop = () => process.exit(0);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
