#!/usr/bin/env bash
# Summarize the lab captures with tshark/capinfos (needs no root):
#   bash test/lab/summarize.sh [captures/FILE.pcap ...]
# For each capture: file type, link type, packet count, size, TCP and UDP
# conversations, and the TLS ClientHellos (SNI and ALPN) seen.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE/../.."
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(captures/*.pcap captures/*.pcapng)
for f in "${files[@]}"; do
  [ -e "$f" ] || continue
  echo "=================================================================== $f"
  capinfos -t -E -c -s "$f" 2>/dev/null | sed 1d
  tshark -r "$f" -q -z conv,tcp -z conv,udp 2>/dev/null |
    grep -E '<->' | sed 's/^/  /' || true
  tshark -r "$f" -Y 'tls.handshake.type==1' -T fields -E header=n \
    -e ip.src -e ip.dst -e tcp.dstport -e tls.handshake.extensions_server_name \
    -e tls.handshake.extensions_alpn_str 2>/dev/null |
    awk -F'\t' '{printf "  ClientHello %s -> %s:%s sni=%s alpn=%s\n", $1, $2, $3, ($4==""?"-":$4), ($5==""?"(none)":$5)}'
done
