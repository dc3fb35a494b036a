#!/usr/bin/env bash
# netmatrix recording lab: re-records the fixture captures in captures/ from
# real traffic between real programs, inside throw-away network namespaces.
#
#   sudo bash test/lab/record.sh                 # every scenario
#   sudo bash test/lab/record.sh node-clean vpn-leak ...
#   sudo bash test/lab/record.sh --list
#
# Needs: root, iproute2, tcpdump, dumpcap (tshark's package), wireguard-go,
# wireguard-tools (wg), openssl, curl, node >= 20 with the repository's
# node_modules (@grpc/grpc-js, @grpc/proto-loader). ethtool is optional (used
# to switch veth offloads off so captured frames look like wire frames).
#
# Every namespace, interface and temporary file is prefixed nm-; everything is
# torn down on exit (trap), and stale leftovers of a previous run are removed
# on start, so the script can be re-run at will. See test/lab/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# Where captures and expectations go: captures/, or NETMATRIX_CAPTURES (the lab test records into a temp dir).
CAPTURES="${NETMATRIX_CAPTURES:-$ROOT/captures}"
NODE=${NODE:-$(command -v node || true)}

ALL_SCENARIOS=(node-clean node-any node-inbound node-gui-exposed node-secagg-open node-h2c
  node-not-in-matrix researcher-down researcher-view vpn-underlay vpn-tunnel vpn-leak install-phase)

NAMESPACES=(nm-sw nm-researcher nm-node1 nm-node2 nm-vpnserver nm-outsider)
declare -A ADDR=([researcher]=10.77.0.1 [node1]=10.77.0.2 [node2]=10.77.0.3 [vpnserver]=10.77.0.10 [outsider]=10.77.0.66)
declare -A TUN_ADDR=([researcher]=10.78.0.1 [node1]=10.78.0.2 [vpnserver]=10.78.0.10)
declare -A WG_IF=([researcher]=nm-wg-r [node1]=nm-wg-n1 [vpnserver]=nm-wg-v)

WORK=""          # temp dir: PKI, logs, captures in progress (never committed)
PIDS=()          # background processes started by this script

say() { printf '\e[1m[lab]\e[0m %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup ---

kill_pid() { # PID [SIGNAL]: stop one process we started and reap it
  local pid=$1 sig=${2:-TERM}
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill_pid "$pid"; done
  PIDS=()
}

teardown_ns() {
  local ns pid
  for ns in "${NAMESPACES[@]}"; do
    [ -e "/run/netns/$ns" ] || continue
    # processes still living in one of OUR namespaces (started by this script,
    # possibly by a previous, interrupted run): end them one by one, by pid
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$pid"; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f /var/run/wireguard/nm-wg-*.sock
}

cleanup() {
  local rc=$?
  set +e
  stop_all
  teardown_ns
  [ -n "$WORK" ] && [ -d "$WORK" ] && rm -rf "$WORK"
  exit "$rc"
}

# ---------------------------------------------------------------- helpers ---

in_ns() { local ns=$1; shift; ip netns exec "nm-$ns" "$@"; }

bg() { # NAME HOST CMD...: start CMD in HOST's namespace, logs in $WORK/log/NAME.{out,err}
  local name=$1 host=$2; shift 2
  ip netns exec "nm-$host" "$@" >"$WORK/log/$name.out" 2>"$WORK/log/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  eval "PID_${name//-/_}=$pid"
}
pid_of() { local v="PID_${1//-/_}"; echo "${!v}"; }
stop() { kill_pid "$(pid_of "$1")" "${2:-TERM}"; }

wait_for() { # DESCRIPTION TIMEOUT_S CMD...: poll CMD until it succeeds
  local what=$1 t=$2; shift 2
  local i
  for i in $(seq $((t * 20))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  say "timeout waiting for $what"
  for f in "$WORK"/log/*; do [ -s "$f" ] && { echo "--- $f"; tail -5 "$f"; } >&2; done
  return 1
}

listening() { # HOST tcp|udp PORT
  local out
  out=$(in_ns "$1" ss -Hln "--$2" "sport = :$3")
  [ -n "$out" ]
}
wait_listen() { wait_for "$1 listening on $2/$3" 10 listening "$1" "$2" "$3"; }

node_js() { # HOST SCRIPT ARGS...: run one lab script in the foreground
  local host=$1 script=$2; shift 2
  in_ns "$host" "$NODE" "$HERE/$script" "$@"
}
node_bg() { # NAME HOST SCRIPT ARGS...
  local name=$1 host=$2 script=$3; shift 3
  bg "$name" "$host" "$NODE" "$HERE/$script" "$@"
}

# Fed-BioMed node client session: cert fetch (TLS, no ALPN), 2 liveness
# connects 2 s apart, then a gRPC/TLS session (GetTaskUnary, ReplyTask, Feedback).
node_session() { # HOST NAME [RESEARCHER_ADDR] [extra node.mjs args...]
  local host=$1 name=$2 addr=${3:-10.77.0.1}; shift 3 || shift $#
  node_js "$host" node.mjs --researcher "$addr" --name "$name" --liveness 2 --liveness-interval 2000 "$@" \
    2>>"$WORK/log/$host-session.err"
}

start_researcher() { # [--insecure]
  if [ "${1:-}" = --insecure ]; then
    node_bg researcher researcher researcher.mjs --insecure --host 0.0.0.0 --port 50051
  else
    node_bg researcher researcher researcher.mjs --cert "$WORK/pki/researcher-chain.pem" \
      --key "$WORK/pki/researcher.key" --host 0.0.0.0 --port 50051
  fi
  wait_listen researcher tcp 50051
}

# ---------------------------------------------------------------- capture ---

CAP_ID=0
cap_start() { # NAME HOST IFACE FILE [tcpdump-extra-args...] ; FILE ending .pcapng → dumpcap
  local name=$1 host=$2 iface=$3 file=$4; shift 4
  local out="$WORK/cap/$file"
  if [[ $file == *.pcapng ]]; then
    bg "cap-$name" "$host" dumpcap -i "$iface" -w "$out" "$@"
    wait_for "dumpcap on $host/$iface" 10 grep -q "Capturing on" "$WORK/log/cap-$name.err"
  else
    # --immediate-mode: hand every packet to tcpdump at once (with libpcap's
    # default TPACKET_V3 ring, packets of a not yet retired block are lost on
    # SIGINT); -U: packet-buffered output; -Z root: keep writing rights; -n: no DNS
    bg "cap-$name" "$host" tcpdump -i "$iface" --immediate-mode -U -n -Z root -w "$out" "$@"
    wait_for "tcpdump on $host/$iface" 10 grep -q "listening on" "$WORK/log/cap-$name.err"
  fi
  sleep 0.5
}

cap_stop() { # NAME FILE: SIGINT the capture, wait for it to flush, publish the file
  local name=$1 file=$2
  # let the last ACKs / FINs reach the wire, and let libpcap retire its last
  # ring block (block timeout 1 s; dumpcap has no immediate mode)
  sleep 1.2
  stop "cap-$name" INT
  [ -s "$WORK/cap/$file" ] || die "capture $file is empty"
  install -m 0644 "$WORK/cap/$file" "$CAPTURES/$file"
  say "  wrote captures/$file ($(stat -c %s "$CAPTURES/$file") bytes; $(tr '\r' '\n' <"$WORK/log/cap-$name.err" | grep -oiE '[0-9]+ packets captured|packets captured: [0-9]+' | tail -1))"
}

# check FILE 'display filter' DESCRIPTION...: fail loudly when the capture lacks
# the traffic the scenario was meant to record (skipped without tshark)
check() {
  local file=$1; shift
  command -v tshark >/dev/null || return 0
  local filter
  for filter in "$@"; do
    if ! tshark -r "$CAPTURES/$file" -Y "$filter" 2>/dev/null | head -1 | grep -q .; then
      die "captures/$file lacks: $filter"
    fi
  done
}
GRPC_TLS='tcp.dstport==50051 && tls.handshake.extensions_alpn_str=="h2"'
CERT_FETCH='tcp.dstport==50051 && tls.handshake.type==1 && !(tls.handshake.extension.type==16)'

# --------------------------------------------------------------- topology ---

lab_up() {
  teardown_ns
  local h ns mac n=0
  for ns in "${NAMESPACES[@]}"; do
    ip netns add "$ns"
    # no IPv6 (no router solicitations / MLD noise in the captures)
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n nm-sw link add br0 type bridge mcast_snooping 0   # no IGMP queries/joins from the switch
  ip -n nm-sw link set br0 up
  for h in researcher node1 node2 vpnserver outsider; do
    n=${ADDR[$h]##*.}
    mac=$(printf '02:00:0a:4d:00:%02x' "$n")
    ip link add eth0 netns "nm-$h" address "$mac" type veth peer name "p-$h" netns nm-sw
    ip -n nm-sw link set "p-$h" master br0 up
    ip -n "nm-$h" addr add "${ADDR[$h]}/24" dev eth0
    if command -v ethtool >/dev/null; then
      # checksums computed in software, no TSO/GSO super-frames: frames as on a wire
      in_ns "$h" ethtool -K eth0 tx off tso off gso off gro off >/dev/null 2>&1 || true
      ip netns exec nm-sw ethtool -K "p-$h" tx off tso off gso off gro off >/dev/null 2>&1 || true
    fi
    ip -n "nm-$h" link set eth0 up
  done
  wait_for "bridge ports forwarding" 10 bash -c \
    "! ip -n nm-sw -o link show master br0 | grep -qv 'state UP'"
}

lab_down() { stop_all; teardown_ns; }

make_pki() {
  local d="$WORK/pki"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=netmatrix lab CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  local who san
  for who in researcher outsider; do
    case $who in
      researcher) san="IP:10.77.0.1,IP:10.78.0.1,DNS:researcher" ;;
      outsider) san="IP:10.77.0.66,DNS:outsider.example" ;;
    esac
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
      -keyout "$d/$who.key" -out "$d/$who.csr" 2>/dev/null
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
      "$san" >"$d/$who.ext"
    openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
      -days 3650 -extfile "$d/$who.ext" -out "$d/$who.pem" 2>/dev/null
    cat "$d/$who.pem" "$d/ca.pem" >"$d/$who-chain.pem"
  done
}

# WireGuard (userspace wireguard-go, one uniquely named interface per
# namespace): node1 and researcher are peers of vpnserver, which listens on
# UDP/51820 and routes 10.78.0.0/24 between its peers.
vpn_up() {
  local h d="$WORK/pki"
  for h in vpnserver node1 researcher; do
    (umask 077 && wg genkey >"$d/wg-$h.key")
    wg pubkey <"$d/wg-$h.key" >"$d/wg-$h.pub"
    bg "wg-$h" "$h" env WG_PROCESS_FOREGROUND=1 WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
      wireguard-go -f "${WG_IF[$h]}"
    wait_for "wireguard-go $h" 10 test -S "/var/run/wireguard/${WG_IF[$h]}.sock"
    ip -n "nm-$h" link set "${WG_IF[$h]}" mtu 1420
    ip -n "nm-$h" addr add "${TUN_ADDR[$h]}/24" dev "${WG_IF[$h]}"
  done
  in_ns vpnserver sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
    "net.ipv4.conf.${WG_IF[vpnserver]}.send_redirects=0"
  in_ns vpnserver wg set "${WG_IF[vpnserver]}" listen-port 51820 private-key "$d/wg-vpnserver.key" \
    peer "$(cat "$d/wg-node1.pub")" allowed-ips 10.78.0.2/32 \
    peer "$(cat "$d/wg-researcher.pub")" allowed-ips 10.78.0.1/32
  in_ns node1 wg set "${WG_IF[node1]}" private-key "$d/wg-node1.key" \
    peer "$(cat "$d/wg-vpnserver.pub")" endpoint 10.77.0.10:51820 allowed-ips 10.78.0.0/24
  for h in vpnserver node1 researcher; do ip -n "nm-$h" link set "${WG_IF[$h]}" up; done
  # the researcher keeps its tunnel alive (so the vpnserver knows where it is);
  # node1 does not: its first packet triggers the handshake, inside the capture
  in_ns researcher wg set "${WG_IF[researcher]}" private-key "$d/wg-researcher.key" \
    peer "$(cat "$d/wg-vpnserver.pub")" endpoint 10.77.0.10:51820 allowed-ips 10.78.0.0/24 \
    persistent-keepalive 25
  wait_for "researcher WireGuard handshake" 15 bash -c \
    "ip netns exec nm-vpnserver wg show ${WG_IF[vpnserver]} latest-handshakes | grep '$(cat "$d/wg-researcher.pub")' | awk '{exit !(\$2>0)}'"
}

# ------------------------------------------------------------ expectations ---

write_hosts() {
  cat >"$CAPTURES/lab.hosts.yaml" <<'EOF'
# Inventory of the recording lab (test/lab/record.sh)
hosts:
  - name: researcher
    role: researcher
    addresses: [10.77.0.1, 10.78.0.1]
  - name: node1
    role: node
    addresses: [10.77.0.2, 10.78.0.2]
  - name: node2
    role: node
    addresses: [10.77.0.3, 10.78.0.3]
  - name: vpnserver
    role: vpnserver
    addresses: [10.77.0.10, 10.78.0.10]
tunnel: [10.78.0.0/24]   # the WireGuard inner network: flows between these addresses rode the tunnel
EOF
}

# expect NAME MATRIX PHASE DESCRIPTION [FINDING...]
#   FINDING is "code client server" or "code rule=ROW"
expect() {
  local name=$1 matrix=$2 phase=$3 desc=$4; shift 4
  local f="$CAPTURES/$name.expect.yaml"
  {
    printf 'description: "%s"\n' "${desc//\"/\\\"}"
    echo "recorded-with: test/lab/record.sh $name"
    echo "matrix: $matrix"
    echo "phase: $phase"
    echo "hosts: lab.hosts.yaml"
    echo "complete: true"
    if [ $# -eq 0 ]; then
      echo "clean: true"
    else
      echo "clean: false"
      echo "findings:"
      local fnd code a b
      for fnd in "$@"; do
        read -r code a b <<<"$fnd"
        echo "  - code: $code"
        if [[ $a == rule=* ]]; then
          echo "    rule: ${a#rule=}"
        else
          echo "    client: $a"
          echo "    server: $b"
        fi
      done
    fi
  } >"$f"
}

# -------------------------------------------------------------- scenarios ---

scenario_node-clean() {
  start_researcher
  node_bg sa1 node1 secagg.mjs --listen 14000
  node_bg sa2 node2 secagg.mjs --listen 14000
  wait_listen node1 tcp 14000; wait_listen node2 tcp 14000
  cap_start c node1 eth0 node-clean.pcapng
  node_session node1 node1
  node_js node1 secagg.mjs --connect 10.77.0.3 14000
  node_js node2 secagg.mjs --connect 10.77.0.2 14000
  cap_stop c node-clean.pcapng
  check node-clean.pcapng "$CERT_FETCH" "$GRPC_TLS" \
    'ip.dst==10.77.0.3 && tcp.dstport==14000 && tcp.flags.fin==1' \
    'ip.src==10.77.0.3 && tcp.dstport==14000 && tcp.flags.fin==1'
  expect node-clean native run \
    "node1's eth0 (dumpcap, pcapng): cert fetch, liveness and gRPC/TLS to the researcher; secagg node1->node2:14000 and node2->node1:14000, both closed"
}

scenario_node-any() {
  start_researcher
  node_bg gui node1 gui.mjs --host 127.0.0.1 --port 8484 --name node-gui
  wait_listen node1 tcp 8484
  cap_start c node1 any node-any.pcap -y LINUX_SLL2
  node_session node1 node1
  in_ns node1 curl -sS -o /dev/null http://127.0.0.1:8484/
  cap_stop c node-any.pcap
  check node-any.pcap "$GRPC_TLS" 'ip.dst==127.0.0.1 && tcp.dstport==8484 && http.request'
  expect node-any native run \
    "tcpdump -i any in node1's namespace (Linux cooked v2): gRPC/TLS to the researcher and the node GUI on 127.0.0.1:8484 fetched locally"
}

scenario_node-inbound() {
  start_researcher
  node_bg svc node1 secagg.mjs --listen 9000
  wait_listen node1 tcp 9000
  cap_start c node1 eth0 node-inbound.pcap
  node_session node1 node1
  # closed port: node1's kernel answers RST
  in_ns outsider bash -c 'exec 3<>/dev/tcp/10.77.0.2/22' 2>/dev/null || true
  node_js outsider secagg.mjs --connect 10.77.0.2 9000
  cap_stop c node-inbound.pcap
  check node-inbound.pcap "$GRPC_TLS" 'ip.src==10.77.0.2 && tcp.srcport==22 && tcp.flags.reset==1' \
    'ip.src==10.77.0.66 && tcp.dstport==9000 && tcp.flags.fin==1'
  expect node-inbound native run \
    "node1's eth0: normal gRPC/TLS session, plus the outsider connecting to node1:22 (closed, RST) and to node1:9000 (open, short exchange)" \
    "inbound-to-node 10.77.0.66 10.77.0.2:22" \
    "inbound-to-node 10.77.0.66 10.77.0.2:9000"
}

scenario_node-gui-exposed() {
  start_researcher
  node_bg gui node1 gui.mjs --host 0.0.0.0 --port 8484 --name node-gui
  wait_listen node1 tcp 8484
  cap_start c node1 eth0 node-gui-exposed.pcap
  node_session node1 node1
  in_ns outsider curl -sS -o /dev/null http://10.77.0.2:8484/
  in_ns node2 curl -sS -o /dev/null http://10.77.0.2:8484/
  cap_stop c node-gui-exposed.pcap
  check node-gui-exposed.pcap "$GRPC_TLS" 'ip.src==10.77.0.66 && tcp.dstport==8484 && http.request' \
    'ip.src==10.77.0.3 && tcp.dstport==8484 && http.request'
  expect node-gui-exposed native run \
    "node1's eth0: normal gRPC/TLS session; the node GUI listens on 0.0.0.0:8484 and is fetched by the outsider and by node2" \
    "gui-not-localhost 10.77.0.66 10.77.0.2:8484" \
    "gui-not-localhost 10.77.0.3 10.77.0.2:8484" \
    "inbound-to-node 10.77.0.66 10.77.0.2:8484" \
    "inbound-to-node 10.77.0.3 10.77.0.2:8484"
}

scenario_node-secagg-open() {
  start_researcher
  node_bg sa node1 secagg.mjs --listen 14001 --hold
  wait_listen node1 tcp 14001
  cap_start c node1 eth0 node-secagg-open.pcap
  node_session node1 node1
  node_bg sacli node2 secagg.mjs --connect 10.77.0.2 14001 --hold
  wait_for "secagg exchange" 10 grep -q holding "$WORK/log/sacli.out"
  cap_stop c node-secagg-open.pcap     # capture stops while the connection is still open
  check node-secagg-open.pcap "$GRPC_TLS" 'tcp.port==14001 && tcp.len>0'
  if tshark -r "$CAPTURES/node-secagg-open.pcap" -Y 'tcp.port==14001 && (tcp.flags.fin==1 || tcp.flags.reset==1)' 2>/dev/null | grep -q .; then
    die "node-secagg-open.pcap: the secagg connection was closed inside the capture"
  fi
  stop sacli; stop sa
  expect node-secagg-open native run \
    "node1's eth0: normal gRPC/TLS session; node2 opens secagg to node1:14001 and the connection is still open when the capture stops" \
    "secagg-not-closed 10.77.0.3 10.77.0.2:14001"
}

scenario_node-h2c() {
  start_researcher --insecure
  cap_start c node1 eth0 node-h2c.pcap
  node_session node1 node1 10.77.0.1 --insecure
  cap_stop c node-h2c.pcap
  check node-h2c.pcap 'tcp.dstport==50051 && tcp.payload[0:24]=="PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"'
  expect node-h2c native run \
    "node1's eth0: liveness and a plaintext gRPC (h2c, HTTP/2 prior knowledge) session to researcher:50051, no TLS" \
    "protocol-mismatch 10.77.0.2 10.77.0.1:50051" \
    "mandatory-missing rule=node-researcher-grpc"
}

scenario_node-not-in-matrix() {
  start_researcher
  node_bg web outsider gui.mjs --host 0.0.0.0 --port 443 --name outsider-web --tls \
    --cert "$WORK/pki/outsider-chain.pem" --key "$WORK/pki/outsider.key"
  node_bg r8080 researcher gui.mjs --host 0.0.0.0 --port 8080 --name researcher-8080
  wait_listen outsider tcp 443; wait_listen researcher tcp 8080
  cap_start c node1 eth0 node-not-in-matrix.pcap
  node_session node1 node1
  in_ns node1 curl -sS -k -o /dev/null https://10.77.0.66/
  in_ns node1 curl -sS -o /dev/null http://10.77.0.1:8080/
  cap_stop c node-not-in-matrix.pcap
  check node-not-in-matrix.pcap "$GRPC_TLS" 'ip.dst==10.77.0.66 && tcp.dstport==443 && tls.handshake.type==1' \
    'ip.dst==10.77.0.1 && tcp.dstport==8080 && http.request'
  expect node-not-in-matrix native run \
    "node1's eth0, run phase: normal gRPC/TLS session, plus HTTPS to the outsider:443 and HTTP to researcher:8080" \
    "not-in-matrix 10.77.0.2 10.77.0.66:443" \
    "not-in-matrix 10.77.0.2 10.77.0.1:8080"
}

scenario_researcher-down() {
  # the researcher host is up but nothing listens on 50051: every SYN gets a RST
  cap_start c node1 eth0 researcher-down.pcap
  node_session node1 node1 10.77.0.1 --retry-seconds 4 || true
  cap_stop c researcher-down.pcap
  check researcher-down.pcap 'tcp.srcport==50051 && tcp.flags.reset==1'
  expect researcher-down native run \
    "node1's eth0: researcher host up but nothing listening on 50051; cert fetch, liveness connects and a retrying gRPC client all refused (RST)" \
    "connection-failed 10.77.0.2 10.77.0.1:50051" \
    "mandatory-missing rule=node-researcher-grpc"
}

scenario_researcher-view() {
  start_researcher
  node_bg jup researcher gui.mjs --host 127.0.0.1 --port 8888 --name jupyter
  node_bg sa node1 secagg.mjs --listen 14000
  wait_listen researcher tcp 8888; wait_listen node1 tcp 14000
  cap_start c researcher eth0 researcher-view.pcap
  node_session node1 node1 &
  local p1=$!
  node_session node2 node2 &
  local p2=$!
  wait "$p1"; wait "$p2"
  node_js researcher secagg.mjs --connect 10.77.0.2 14000
  in_ns researcher curl -sS -o /dev/null http://127.0.0.1:8888/
  cap_stop c researcher-view.pcap
  check researcher-view.pcap 'ip.src==10.77.0.2 && '"$GRPC_TLS" 'ip.src==10.77.0.3 && '"$GRPC_TLS" \
    'ip.src==10.77.0.1 && tcp.dstport==14000 && tcp.flags.fin==1'
  expect researcher-view native run \
    "researcher's eth0: node1 and node2 gRPC/TLS sessions in, researcher->node1:14000 secagg closed; Jupyter on 127.0.0.1:8888 fetched locally (not on eth0)"
}

scenario_vpn() { # records vpn-underlay and vpn-tunnel at the same time
  start_researcher
  vpn_up
  cap_start u node1 eth0 vpn-underlay.pcap
  cap_start t node1 "${WG_IF[node1]}" vpn-tunnel.pcap
  node_session node1 node1 10.78.0.1
  cap_stop t vpn-tunnel.pcap
  cap_stop u vpn-underlay.pcap
  check vpn-underlay.pcap 'udp.dstport==51820 && wg.type==1' 'udp.dstport==51820 && wg.type==4'
  check vpn-tunnel.pcap "$CERT_FETCH" "$GRPC_TLS"
  expect vpn-underlay vpn run \
    "node1's eth0 (underlay) with WireGuard up: only UDP/51820 to the vpnserver, carrying node1's gRPC/TLS session to 10.78.0.1:50051"
  sed -i 's|^recorded-with: .*|recorded-with: test/lab/record.sh vpn-underlay|' "$CAPTURES/vpn-underlay.expect.yaml"
  expect vpn-tunnel vpn run \
    "node1's WireGuard interface ${WG_IF[node1]} (raw IP), recorded together with vpn-underlay: gRPC/TLS 10.78.0.2->10.78.0.1:50051 inside the tunnel"
  sed -i 's|^recorded-with: .*|recorded-with: test/lab/record.sh vpn-tunnel   # records vpn-underlay at the same time|' \
    "$CAPTURES/vpn-tunnel.expect.yaml"
}

scenario_vpn-leak() {
  start_researcher
  vpn_up
  cap_start c node1 eth0 vpn-leak.pcap
  node_session node1 node1 10.78.0.1          # legitimate, inside the tunnel
  node_session node1 node1 10.77.0.1          # leak: straight to the researcher's underlay address
  in_ns node1 bash -c 'printf "hello, not wireguard" >/dev/udp/10.77.0.10/51820'
  cap_stop c vpn-leak.pcap
  check vpn-leak.pcap 'wg.type==1' 'ip.dst==10.77.0.1 && '"$GRPC_TLS" 'udp.dstport==51820 && !wg'
  expect vpn-leak vpn run \
    "node1's eth0 with WireGuard up: gRPC/TLS through the tunnel, plus gRPC/TLS straight to 10.77.0.1:50051 and a non-WireGuard datagram to vpnserver:51820" \
    "outside-tunnel 10.77.0.2 10.77.0.1:50051" \
    "protocol-mismatch 10.77.0.2 10.77.0.10:51820"
}

scenario_install-phase() {
  node_bg web80 outsider gui.mjs --host 0.0.0.0 --port 80 --name package-mirror
  node_bg web443 outsider gui.mjs --host 0.0.0.0 --port 443 --name package-mirror --tls \
    --cert "$WORK/pki/outsider-chain.pem" --key "$WORK/pki/outsider.key"
  wait_listen outsider tcp 80; wait_listen outsider tcp 443
  cap_start c node1 eth0 install-phase.pcap
  in_ns node1 curl -sS -o /dev/null http://10.77.0.66/
  in_ns node1 curl -sS -k -o /dev/null https://10.77.0.66/
  cap_stop c install-phase.pcap
  check install-phase.pcap 'tcp.dstport==80 && http.request' 'tcp.dstport==443 && tls.handshake.type==1'
  expect install-phase native install \
    "node1's eth0 during software installation: HTTP (TCP/80) and HTTPS (TCP/443) downloads from an internet host (the outsider)"
}

# ------------------------------------------------------------------- main ---

main() {
  if [ "${1:-}" = --list ] || [ "${1:-}" = -l ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
  if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0; fi
  [ "$(id -u)" = 0 ] || die "run as root (sudo bash $0)"
  [ -n "$NODE" ] || die "node not found (set NODE=/path/to/node)"
  local t
  for t in ip tcpdump dumpcap wireguard-go wg openssl curl ss; do
    command -v "$t" >/dev/null || die "missing tool: $t"
  done
  [ -d "$ROOT/node_modules/@grpc/grpc-js" ] || die "run npm install first (needs @grpc/grpc-js)"

  local wanted=("$@") s
  [ ${#wanted[@]} -gt 0 ] || wanted=("${ALL_SCENARIOS[@]}")
  for s in "${wanted[@]}"; do
    [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario: $s (see --list)"
  done

  trap cleanup EXIT
  trap 'exit 130' INT TERM
  WORK=$(mktemp -d /tmp/nm-lab.XXXXXX)
  mkdir -p "$WORK/log" "$WORK/cap" "$CAPTURES"
  teardown_ns
  make_pki
  write_hosts

  local done_vpn=0
  for s in "${wanted[@]}"; do
    case $s in
      vpn-underlay | vpn-tunnel)
        [ $done_vpn = 1 ] && continue
        done_vpn=1
        s=vpn
        ;;
    esac
    say "scenario $s"
    rm -f "$WORK"/log/*
    lab_up
    "scenario_$s"
    lab_down
  done
  say "done: $(du -ch "$CAPTURES"/*.pcap* 2>/dev/null | tail -1 | cut -f1) of captures in $CAPTURES"
}

# sourcing the script (for debugging) defines the functions without running anything
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
