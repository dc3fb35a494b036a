/**
 * The generated captures of test/corpus-regressions/ (see its README.md), built with the tests' one
 * pcap and pcapng builders. Deterministic: the same bytes every time. regressions.test.ts checks that
 * every file is what its builder writes; to rebuild them after changing a builder:
 *
 *   NETMATRIX_WRITE_FIXTURES=1 npx vitest run test/robustness/regressions.test.ts
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { tcpConnectionFrames } from '../helpers/frames.js';
import { pcapBytes } from '../helpers/pcap.js';
import { PcapngBuilder } from '../helpers/pcapng.js';
import { clientHello } from '../helpers/tls.js';

// ---------------------------------------------------------------------------------------------
// hostile-clienthello.pcap: what a compromised machine can put in front of a reviewer's terminal.
//
//   flow 1  10.0.0.2:40000 -> 203.0.113.5:443  TLS ClientHello whose SNI holds an OSC title change,
//           BEL, a screen clear, a C1 CSI (U+009B), <script>, a right-to-left override and DEL; its
//           ALPN list holds an SGR colour sequence and a C1 CSI
//   flow 2  10.0.0.2:40001 -> 203.0.113.5:80   HTTP request whose target holds a C1 CSI (visible bytes
//           only are valid there) and whose Host header holds SGR, CSI, bidi controls (RLO, the Arabic
//           letter mark, LRI) and HTML
//
// Both are violations under the native matrix with --node 10.0.0.2 (node -> Internet), so both are
// listed, with their evidence, in the table's violations section.

export const HOSTILE_SNI = '\u001b]0;pwned\u0007\u001b[2J\u009b31m<script>alert(1)</script>\u202e\u007f.evil.example';
export const HOSTILE_ALPN = ['h2', '\u001b[31mred\u009b0m'];
export const HOSTILE_TARGET = '/\u009b2J<script>';
export const HOSTILE_HOST = '\u001b[1;31mhost\u009b2J\u202e\u061c\u2066<img src=x onerror=alert(1)>';

/** Path of test/corpus-regressions/hostile-clienthello.pcap. */
export const FIXTURE = fileURLToPath(new URL('../corpus-regressions/hostile-clienthello.pcap', import.meta.url));

export function httpRequest(target: string, host: string): Uint8Array {
  return new TextEncoder().encode(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: netmatrix-test\r\n\r\n`);
}

/** The fixture's bytes: microsecond pcap, Ethernet. */
export function buildHostileCapture(): Uint8Array {
  const conn = { client: '10.0.0.2', server: '203.0.113.5' };
  return pcapBytes(
    [
      ...tcpConnectionFrames({ ...conn, t0: 1_700_000_000, cport: 40000, sport: 443, request: clientHello({ sni: HOSTILE_SNI, alpn: HOSTILE_ALPN }) }),
      ...tcpConnectionFrames({ ...conn, t0: 1_700_000_001, cport: 40001, sport: 80, request: httpRequest(HOSTILE_TARGET, HOSTILE_HOST) }),
    ],
    { precision: 'us' },
  );
}

// ---------------------------------------------------------------------------------------------
// pcapng files that found bugs, gzipped (they compress to under 4 KB)

/**
 * A corrupt block, then 1 MiB of candidate blocks (EPB type, length 1 MiB - 8) whose trailing copy
 * never matches, then 1 MiB of zeros. Resynchronisation checked each candidate against a full 1 MiB
 * read buffer: every 8-byte step copied the buffer and read 8 bytes (4 s here; 3 min with 16 MiB
 * claims in an 18 MB file).
 */
export function resyncClaims(): Uint8Array {
  const MiB = 1024 * 1024;
  const b = new PcapngBuilder().shb().idb(1, 65535).header(6, 13); // impossible total length: corrupt, resynchronise
  for (let p = 0; p < MiB; p += 8) b.header(6, MiB - 8);
  return b.raw(new Uint8Array(MiB)).bytes();
}

/** 70,000 interface description blocks of an unsupported link type: 70,000 warning lines on stderr. */
export function manyInterfaces(): Uint8Array {
  const b = new PcapngBuilder().shb().idb(1, 65535);
  for (let i = 0; i < 70_000; i++) b.idb(160, 65535);
  return b.bytes();
}

/** gzip with fixed settings (the header holds no name and no time: the bytes are reproducible). */
export function gzip(bytes: Uint8Array): Uint8Array {
  return gzipSync(bytes, { level: 9 });
}

/** File name in test/corpus-regressions -> the (uncompressed) capture it holds; `.gz` names are gzipped. */
export const GENERATED: Record<string, () => Uint8Array> = {
  'hostile-clienthello.pcap': buildHostileCapture,
  'pcapng-resync-1mib-claims.pcapng.gz': resyncClaims,
  'pcapng-70000-interfaces.pcapng.gz': manyInterfaces,
};
