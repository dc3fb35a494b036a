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
# node_modules (@grpc/grpc-js, @grpc/proto-loader); mosquitto and
# mosquitto-clients for the mqtt-* scenarios, nftables (nft) for the docker-*
# ones. ethtool is optional (used to switch veth offloads off so captured
# frames look like wire frames).
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
  node-not-in-matrix researcher-down researcher-view vpn-underlay vpn-tunnel vpn-leak install-phase
  mqtt-clean mqtt-violations docker-node docker-researcher docker-exposed)

NAMESPACES=(nm-sw nm-researcher nm-node1 nm-node2 nm-vpnserver nm-outsider)
declare -A ADDR=([researcher]=10.77.0.1 [node1]=10.77.0.2 [node2]=10.77.0.3 [vpnserver]=10.77.0.10 [outsider]=10.77.0.66)
declare -A TUN_ADDR=([researcher]=10.78.0.1 [node1]=10.78.0.2 [vpnserver]=10.78.0.10)
declare -A WG_IF=([researcher]=nm-wg-r [node1]=nm-wg-n1 [vpnserver]=nm-wg-v)

# docker-* scenarios: the researcher's and node1's machines are Docker hosts
# (see docker_up). Containers live in namespaces nm-c-<name>.
CONTAINERS=(researcher node1 gui1 gui2 gui3)
declare -A CONTAINER_HOST=([researcher]=researcher [node1]=node1 [gui1]=node1 [gui2]=node1 [gui3]=node1)
declare -A CONTAINER_ADDR=([researcher]=172.17.0.2 [node1]=172.18.0.2 [gui1]=172.18.0.3 [gui2]=172.18.0.4 [gui3]=172.18.0.5)
# the researcher's host has Docker's default bridge; node1's host a user-defined
# network (like the compose file of Fed-BioMed's Docker page: fedbiomed-net),
# which Docker numbers 172.18.0.0/16 when it is the first one
declare -A DOCKER_BRIDGE=([researcher]=docker0 [node1]=br-fedbiomed)
declare -A DOCKER_GW=([researcher]=172.17.0.1 [node1]=172.18.0.1)
declare -A DOCKER_NET=([researcher]=172.17.0.0/16 [node1]=172.18.0.0/16)
# published ports ("docker run -p HOST_PORT:CONTAINER_PORT"): HOST_PORT:CONTAINER:CONTAINER_PORT
declare -A DOCKER_PUBLISH=([researcher]="50051:researcher:50051 6007:researcher:6006"
  [node1]="8484:gui1:8484 8485:gui2:8484 8486:gui3:8484")

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
  local ns pid c
  local all=("${NAMESPACES[@]}")
  for c in "${CONTAINERS[@]}"; do all+=("nm-c-$c"); done
  for ns in "${all[@]}"; do
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
    local buf=()
    # immediate mode uses a TPACKET_V2 ring of snaplen-sized slots; on "any"
    # (no MTU to size them by) the default 2 MB holds ~8 packets and a burst
    # (an HTTP upload) overflows it: a 32 MB ring
    [ "$iface" = any ] && buf=(-B 32768)
    bg "cap-$name" "$host" tcpdump -i "$iface" --immediate-mode "${buf[@]}" -U -n -Z root -w "$out" "$@"
    wait_for "tcpdump on $host/$iface" 10 grep -q "listening on" "$WORK/log/cap-$name.err"
  fi
  sleep 0.5
}

cap_stop() { # NAME FILE: SIGINT the capture, wait for it to flush, publish the file
  local name=$1 file=$2
  # let the last ACKs / FINs reach the wire, and let libpcap retire its last
  # ring block (block timeout 1 s; dumpcap has no immediate mode); SETTLE=0
  # for a second capture stopped right after another one (it has waited already)
  sleep "${SETTLE:-1.2}"
  stop "cap-$name" INT
  [ -s "$WORK/cap/$file" ] || die "capture $file is empty"
  # tcpdump: "N packets dropped by kernel"; dumpcap: "received/dropped on interface 'X': R/D"
  local dropped
  dropped=$(tr '\r' '\n' <"$WORK/log/cap-$name.err" |
    sed -nE 's/^([0-9]+) packets dropped by kernel.*/\1/p; s/.*received\/dropped on interface .*: [0-9]+\/([0-9]+).*/\1/p' | tail -1)
  [ "${dropped:-0}" = 0 ] || die "capture $file: $dropped packet(s) dropped by the kernel"
  install -m 0644 "$WORK/cap/$file" "$CAPTURES/$file"
  say "  wrote captures/$file ($(stat -c %s "$CAPTURES/$file") bytes; $(tr '\r' '\n' <"$WORK/log/cap-$name.err" | grep -oiE '[0-9]+ packets captured|packets captured: [0-9]+' | tail -1))"
}

# check [-d DECODE-AS]... FILE 'display filter'...: fail loudly when the capture
# lacks the traffic the scenario was meant to record (skipped without tshark);
# -d tcp.port==8844,http tells tshark how to decode a non-standard port
check() {
  local decode=()
  while [ "$1" = -d ]; do decode+=(-d "$2"); shift 2; done
  local file=$1; shift
  command -v tshark >/dev/null || return 0
  local filter
  for filter in "$@"; do
    if ! tshark -r "$CAPTURES/$file" "${decode[@]}" -Y "$filter" 2>/dev/null | head -1 | grep -q .; then
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

# ------------------------------------------------------------------- MQTT ---

# start_broker HOST NAME [CONFIG-LINE...]: a real mosquitto broker on
# 0.0.0.0:1883 in HOST's namespace (anonymous, no persistence), configured by
# a file in $WORK; extra lines add listeners (e.g. a TLS one)
start_broker() {
  local host=$1 name=$2; shift 2
  local conf="$WORK/$name.conf"
  printf '%s\n' "# $name: test/lab/record.sh" "user root" "persistence false" "log_dest stderr" \
    "log_type error" "log_type warning" "log_type notice" "log_type information" \
    "allow_anonymous true" "listener 1883 0.0.0.0" "$@" >"$conf"
  bg "$name" "$host" mosquitto -c "$conf"
  wait_listen "$host" tcp 1883
}

# mqtt_sub NAME HOST BROKER CLIENT-ID COUNT TOPIC...: mosquitto_sub in the
# background, subscribed (QoS 1) once this returns; it exits (DISCONNECT, FIN)
# after COUNT messages
mqtt_sub() {
  local name=$1 host=$2 broker=$3 id=$4 count=$5; shift 5
  local t topics=()
  for t in "$@"; do topics+=(-t "$t"); done
  bg "$name" "$host" stdbuf -oL mosquitto_sub -d -h "$broker" -i "$id" -q 1 -C "$count" "${topics[@]}"
  wait_for "$id subscribed to $broker" 10 grep -q 'received SUBACK' "$WORK/log/$name.out"
}

wait_exit() { # NAME TIMEOUT_S: a background process ends by itself
  local pid
  pid=$(pid_of "$1")
  wait_for "$1 to finish" "$2" bash -c "! kill -0 $pid"
  wait "$pid" 2>/dev/null || true
}

# upload HOST FILE: curl's multipart POST to the restful service (as
# fedbiomed/common/repository.py does with requests); prints the download URL
upload() {
  in_ns "$1" curl -sS -F "file=@$2" http://10.77.0.1:8844/upload/ | sed -n 's/.*"file":"\([^"]*\)".*/\1/p'
}

make_model_files() { # a training plan and parameter files (deterministic bytes)
  head -c 4000 < <(yes 'class MyTrainingPlan(TorchTrainingPlan):  # fed-biomed 3.x/4.x model file') >"$WORK/model.py"
  local n
  for n in node1 node2; do
    head -c 8000 < <(yes "$n parameters") >"$WORK/params-$n.bin"
  done
}

train_request() { # MODEL_URL: the researcher's TrainRequest on general/nodes (JSON, as 3.x/4.x sent it)
  printf '{"researcher_id": "researcher", "job_id": "job-1", "command": "train", "model_url": "%s", "params_url": "%s", "model_class": "MyTrainingPlan", "training_args": {"epochs": 1}, "training_data": {"node1": ["dataset1"], "node2": ["dataset2"]}}' "$1" "$1"
}

train_reply() { # NODE PARAMS_URL: the node's TrainReply on general/researcher
  printf '{"researcher_id": "researcher", "job_id": "job-1", "command": "train", "success": true, "node_id": "%s", "dataset_id": "dataset-%s", "params_url": "%s", "msg": ""}' "$1" "$1" "$2"
}

# ----------------------------------------------------------------- Docker ---

# Docker is emulated with namespaces (no dockerd in the lab): each Docker host
# (the researcher's and node1's machines) gets a bridge with the host as
# gateway, one namespace per container attached by a veth (eth0 inside, MAC
# 02:42:<IP> like Docker's), ip_forward, the nat/filter rules Docker installs
# (written for nft), and one docker-proxy per published port (Docker's
# userland-proxy is on by default). See test/lab/README.md.
docker_mac() { local IFS=.; set -- $1; printf '02:42:%02x:%02x:%02x:%02x' "$1" "$2" "$3" "$4"; }

container_up() { # NAME
  local c=$1 h=${CONTAINER_HOST[$1]} addr=${CONTAINER_ADDR[$1]}
  local ns="nm-c-$c"
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
  ip link add eth0 netns "$ns" address "$(docker_mac "$addr")" type veth peer name "veth-$c" netns "nm-$h"
  if command -v ethtool >/dev/null; then
    ip netns exec "$ns" ethtool -K eth0 tx off tso off gso off gro off >/dev/null 2>&1 || true
    in_ns "$h" ethtool -K "veth-$c" tx off tso off gso off gro off >/dev/null 2>&1 || true
  fi
  ip -n "nm-$h" link set "veth-$c" master "${DOCKER_BRIDGE[$h]}" up
  ip -n "$ns" addr add "$addr/16" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "${DOCKER_GW[$h]}"
}

# Docker's rules for one bridge and its published ports (what dockerd writes
# with iptables -t nat / -t filter, userland-proxy on, here in nft syntax):
# DNAT to the container for packets to a local address that come from outside
# the bridge (PREROUTING) or from the host itself, except to 127.0.0.0/8
# (OUTPUT: those reach docker-proxy); masquerade containers leaving through
# another interface; FORWARD into the bridge accepts replies and the published
# ports only.
docker_rules() { # HOST
  local h=$1 br=${DOCKER_BRIDGE[$1]} net=${DOCKER_NET[$1]}
  local p hp c cp cip dnat="" masq="" accept=""
  for p in ${DOCKER_PUBLISH[$h]}; do
    IFS=: read -r hp c cp <<<"$p"
    cip=${CONTAINER_ADDR[$c]}
    dnat+="    iifname != \"$br\" tcp dport $hp dnat to $cip:$cp"$'\n'
    masq+="    ip saddr $cip ip daddr $cip tcp dport $cp masquerade"$'\n'
    accept+="    ip daddr $cip iifname != \"$br\" oifname \"$br\" tcp dport $cp accept"$'\n'
  done
  in_ns "$h" nft -f - <<EOF
table ip nat {
  chain DOCKER {
    iifname "$br" return
$dnat  }
  chain PREROUTING {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local jump DOCKER
  }
  chain OUTPUT {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 fib daddr type local jump DOCKER
  }
  chain POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr $net oifname != "$br" masquerade
$masq  }
}
table ip filter {
  chain DOCKER {
$accept  }
  chain FORWARD {
    type filter hook forward priority filter; policy drop;
    oifname "$br" ct state related,established accept
    oifname "$br" jump DOCKER
    iifname "$br" oifname != "$br" accept
    iifname "$br" oifname "$br" accept
  }
}
EOF
}

docker_up() { # HOST...: make HOST (researcher, node1) a Docker host with its containers
  local h c p hp cp br
  for h in "$@"; do
    br=${DOCKER_BRIDGE[$h]}
    ip -n "nm-$h" link add "$br" address "$(docker_mac "${DOCKER_GW[$h]}")" type bridge mcast_snooping 0
    ip -n "nm-$h" addr add "${DOCKER_GW[$h]}/16" dev "$br"
    ip -n "nm-$h" link set "$br" up
    in_ns "$h" sysctl -qw net.ipv4.ip_forward=1
    for c in "${CONTAINERS[@]}"; do
      if [ "${CONTAINER_HOST[$c]}" = "$h" ]; then container_up "$c"; fi
    done
    docker_rules "$h"
    for p in ${DOCKER_PUBLISH[$h]}; do
      IFS=: read -r hp c cp <<<"$p"
      node_bg "proxy-$h-$hp" "$h" docker-proxy.mjs -proto tcp -host-ip 0.0.0.0 -host-port "$hp" \
        -container-ip "${CONTAINER_ADDR[$c]}" -container-port "$cp"
    done
    for p in ${DOCKER_PUBLISH[$h]}; do wait_listen "$h" tcp "${p%%:*}"; done
    wait_for "$br ports forwarding" 10 bash -c \
      "! ip -n nm-$h -o link show master $br | grep -qv 'state UP'"
  done
}

# the containers' programs (HOST: researcher, node1): the researcher (gRPC/TLS
# on 50051) and Tensorboard (6006) in the researcher container, a node GUI
# (8484) in each of gui1..3 (the node container only runs the client)
docker_services() { # HOST...
  local h g
  for h in "$@"; do
    case $h in
      researcher)
        node_bg researcher c-researcher researcher.mjs --cert "$WORK/pki/researcher-chain.pem" \
          --key "$WORK/pki/researcher.key" --host 0.0.0.0 --port 50051
        node_bg tensorboard c-researcher gui.mjs --host 0.0.0.0 --port 6006 --name tensorboard
        wait_listen c-researcher tcp 50051; wait_listen c-researcher tcp 6006
        ;;
      node1)
        for g in gui1 gui2 gui3; do node_bg "$g" "c-$g" gui.mjs --host 0.0.0.0 --port 8484 --name "node-$g"; done
        for g in gui1 gui2 gui3; do wait_listen "c-$g" tcp 8484; done
        ;;
    esac
  done
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
  cat >"$CAPTURES/docker.hosts.yaml" <<'EOF'
# Inventory of the recording lab's Docker scenarios (test/lab/record.sh docker-*).
# A machine is a Docker host: its own addresses (eth0, the bridge's gateway) and
# the address of every container it runs, each listed alone (a CIDR block would
# stand for many machines: the host reaching its own containers through the
# bridge would no longer be localhost).
hosts:
  - name: researcher     # Docker host: eth0, docker0's gateway, the researcher container
    role: researcher
    addresses: [10.77.0.1, 172.17.0.1, 172.17.0.2]
  - name: node1          # Docker host: eth0, br-fedbiomed's gateway, the node container, 3 node GUI containers
    role: node
    addresses: [10.77.0.2, 172.18.0.1, 172.18.0.2, 172.18.0.3, 172.18.0.4, 172.18.0.5]
EOF
}

# [HOSTS=FILE] expect NAME MATRIX PHASE DESCRIPTION [FINDING...]
#   FINDING is "code client server" or "code rule=ROW"; HOSTS (default
#   lab.hosts.yaml) names the inventory
expect() {
  local name=$1 matrix=$2 phase=$3 desc=$4; shift 4
  local f="$CAPTURES/$name.expect.yaml"
  {
    printf 'description: "%s"\n' "${desc//\"/\\\"}"
    echo "recorded-with: test/lab/record.sh $name"
    echo "matrix: $matrix"
    echo "phase: $phase"
    echo "hosts: ${HOSTS:-lab.hosts.yaml}"
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

# The legacy-mqtt scenarios (Fed-BioMed before 5.0): a real mosquitto broker
# and the restful stand-in on the researcher's machine (where Fed-BioMed's
# "network" component ran), real mosquitto_sub/mosquitto_pub clients and curl.
scenario_mqtt-clean() {
  start_broker researcher broker
  node_bg restful researcher restful.mjs --host 0.0.0.0 --port 8844
  wait_listen researcher tcp 8844
  make_model_files
  cap_start c researcher any mqtt-clean.pcap -y LINUX_SLL2
  # the researcher listens for replies on general/researcher (local: on lo);
  # each node subscribes to general/nodes and its own topic
  mqtt_sub rsub researcher 127.0.0.1 researcher 2 general/researcher
  mqtt_sub sub1 node1 10.77.0.1 node1 1 general/nodes general/node1
  mqtt_sub sub2 node2 10.77.0.1 node2 1 general/nodes general/node2
  local model n url
  model=$(upload researcher "$WORK/model.py")      # researcher -> its own restful (local)
  [ -n "$model" ] || die "model upload failed"
  in_ns researcher mosquitto_pub -h 127.0.0.1 -i researcher-pub -q 1 -t general/nodes -m "$(train_request "$model")"
  for n in node1 node2; do
    wait_exit "sub${n#node}" 10
    in_ns "$n" curl -sS -o /dev/null "$model"       # node downloads the model
    url=$(upload "$n" "$WORK/params-$n.bin")       # and uploads its parameters
    [ -n "$url" ] || die "$n: parameter upload failed"
    in_ns "$n" mosquitto_pub -h 10.77.0.1 -i "$n" -q 1 -t general/researcher -m "$(train_reply "$n" "$url")"
    in_ns researcher curl -sS -o /dev/null "$url"   # researcher fetches them (local)
  done
  wait_exit rsub 10
  cap_stop c mqtt-clean.pcap
  local d=(-d tcp.port==8844,http)
  check "${d[@]}" mqtt-clean.pcap 'ip.src==10.77.0.2 && tcp.dstport==1883 && mqtt.msgtype==1' \
    'ip.src==10.77.0.3 && tcp.dstport==1883 && mqtt.msgtype==8' \
    'ip.src==10.77.0.2 && tcp.dstport==1883 && mqtt.msgtype==3' \
    'ip.dst==10.77.0.3 && tcp.srcport==1883 && mqtt.msgtype==3' \
    'ip.src==127.0.0.1 && tcp.dstport==1883 && mqtt.msgtype==3' \
    'ip.src==10.77.0.2 && tcp.dstport==8844 && http.request.method=="GET"' \
    'ip.src==10.77.0.3 && tcp.dstport==8844 && http.request.method=="POST"' \
    'ip.src==10.77.0.1 && ip.dst==10.77.0.1 && tcp.dstport==8844 && http.request.method=="POST"'
  expect mqtt-clean legacy-mqtt run \
    "tcpdump -i any on the researcher's machine (mosquitto broker on 1883, restful on 8844): researcher's MQTT clients on 127.0.0.1; node1 and node2 subscribe, get the train request, download the model, upload parameters over HTTP and publish their replies"
}

scenario_mqtt-violations() {
  start_broker researcher broker "listener 8883 0.0.0.0" \
    "certfile $WORK/pki/researcher-chain.pem" "keyfile $WORK/pki/researcher.key"
  wait_listen researcher tcp 8883
  start_broker node1 stray-broker                   # a broker left running on a node
  node_bg restful researcher restful.mjs --host 0.0.0.0 --port 8844
  wait_listen researcher tcp 8844
  make_model_files
  local model
  model=$(upload researcher "$WORK/model.py")
  [ -n "$model" ] || die "model upload failed"
  cap_start c node1 eth0 mqtt-violations.pcap
  mqtt_sub sub1 node1 10.77.0.1 node1 1 general/nodes general/node1
  in_ns researcher mosquitto_pub -h 127.0.0.1 -i researcher-pub -q 1 -t general/nodes -m "$(train_request "$model")"
  wait_exit sub1 10
  in_ns node1 curl -sS -o /dev/null "$model"
  # the reply over MQTT/TLS on 8883, a port the matrix does not list
  in_ns node1 mosquitto_pub -h 10.77.0.1 -p 8883 --cafile "$WORK/pki/ca.pem" -i node1 -q 1 \
    -t general/researcher -m "$(train_reply node1 "$model")"
  # node2 publishes to the broker on node1
  in_ns node2 mosquitto_pub -h 10.77.0.2 -i node2 -q 1 -t general/node1 -m '{"command": "ping", "node_id": "node2"}'
  cap_stop c mqtt-violations.pcap
  check -d tcp.port==8844,http mqtt-violations.pcap \
    'ip.dst==10.77.0.1 && tcp.dstport==1883 && mqtt.msgtype==8' \
    'ip.src==10.77.0.1 && tcp.srcport==1883 && mqtt.msgtype==3' \
    'ip.dst==10.77.0.1 && tcp.dstport==8844 && http.request.method=="GET"' \
    'ip.dst==10.77.0.1 && tcp.dstport==8883 && tls.handshake.type==1' \
    'ip.src==10.77.0.3 && ip.dst==10.77.0.2 && tcp.dstport==1883 && mqtt.msgtype==3'
  expect mqtt-violations legacy-mqtt run \
    "node1's eth0: MQTT with the researcher's broker (1883) and a model download from restful (8844), then node1 publishes its reply over MQTT/TLS on 8883, and node2 publishes to a broker running on node1" \
    "not-in-matrix 10.77.0.2 10.77.0.1:8883" \
    "inbound-to-node 10.77.0.3 10.77.0.2:1883"
}

# The docker scenarios: the researcher's and node1's machines are Docker hosts
# (docker_up). docker-node and docker-researcher are one recording.
scenario_docker() {
  docker_up researcher node1
  docker_services researcher node1
  cap_start n node1 any docker-node.pcap -y LINUX_SLL2
  cap_start r researcher any docker-researcher.pcap -y LINUX_SLL2
  # the node container -> the researcher's published 50051 (masqueraded by
  # node1's host, DNATed by the researcher's host to its container)
  node_session c-node1 node1 10.77.0.1
  local p
  for p in 8484 8485 8486; do in_ns node1 curl -sS -o /dev/null "http://127.0.0.1:$p/"; done
  in_ns researcher curl -sS -o /dev/null http://127.0.0.1:6007/
  cap_stop r docker-researcher.pcap
  SETTLE=0 cap_stop n docker-node.pcap
  check docker-node.pcap 'ip.src==172.18.0.2 && '"$GRPC_TLS" 'ip.src==10.77.0.2 && '"$GRPC_TLS"
  check -d tcp.port==8485,http -d tcp.port==8486,http docker-node.pcap \
    'ip.dst==127.0.0.1 && tcp.dstport==8485 && http.request' 'ip.dst==127.0.0.1 && tcp.dstport==8486 && http.request' \
    'ip.src==172.18.0.1 && ip.dst==172.18.0.4 && tcp.dstport==8484 && http.request' \
    'ip.src==172.18.0.1 && ip.dst==172.18.0.5 && tcp.dstport==8484 && http.request'
  check -d tcp.port==6007,http -d tcp.port==6006,http docker-researcher.pcap \
    'ip.dst==10.77.0.1 && '"$GRPC_TLS" 'ip.src==10.77.0.2 && ip.dst==172.17.0.2 && '"$GRPC_TLS" \
    'ip.dst==127.0.0.1 && tcp.dstport==6007 && http.request' \
    'ip.src==172.17.0.1 && ip.dst==172.17.0.2 && tcp.dstport==6006 && http.request'
  HOSTS=docker.hosts.yaml expect docker-node docker run \
    "tcpdump -i any on node1's Docker host: the node container's session to the researcher's published 50051 (on the bridge from 172.18.0.2, masqueraded on eth0); the node GUI containers published on 8484/8485/8486 fetched from 127.0.0.1 through docker-proxy"
  HOSTS=docker.hosts.yaml expect docker-researcher docker run \
    "tcpdump -i any on the researcher's Docker host, recorded with docker-node: node1's session to 10.77.0.1:50051 DNATed to the researcher container 172.17.0.2; Tensorboard published on 6007 fetched from 127.0.0.1 through docker-proxy"
  sed -i 's|^recorded-with: .*|recorded-with: test/lab/record.sh docker-node   # records docker-researcher at the same time|' \
    "$CAPTURES/docker-node.expect.yaml"
  sed -i 's|^recorded-with: .*|recorded-with: test/lab/record.sh docker-researcher   # records docker-node at the same time|' \
    "$CAPTURES/docker-researcher.expect.yaml"
}

scenario_docker-exposed() {
  docker_up researcher
  docker_services researcher
  cap_start c researcher docker0 docker-exposed.pcap
  node_session node1 node1 10.77.0.1 --liveness 1
  in_ns researcher curl -sS -o /dev/null http://127.0.0.1:6007/    # from localhost: allowed
  in_ns outsider curl -sS -o /dev/null http://10.77.0.1:6007/      # published on 0.0.0.0: reachable from anywhere
  cap_stop c docker-exposed.pcap
  check -d tcp.port==6006,http docker-exposed.pcap 'ip.dst==172.17.0.2 && '"$GRPC_TLS" \
    'ip.src==172.17.0.1 && ip.dst==172.17.0.2 && tcp.dstport==6006 && http.request' \
    'ip.src==10.77.0.66 && ip.dst==172.17.0.2 && tcp.dstport==6006 && http.request'
  HOSTS=docker.hosts.yaml expect docker-exposed docker run \
    "tcpdump -i docker0 on the researcher's Docker host: node1's session DNATed to the researcher container; Tensorboard (published 6007 -> 6006) fetched from the host's 127.0.0.1 (docker-proxy, from the gateway 172.17.0.1) and from the outsider (DNAT keeps its address)" \
    "gui-not-localhost 10.77.0.66 172.17.0.2:6006"
}

# ------------------------------------------------------------------- main ---

main() {
  if [ "${1:-}" = --list ] || [ "${1:-}" = -l ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
  if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0; fi
  [ "$(id -u)" = 0 ] || die "run as root (sudo bash $0)"
  [ -n "$NODE" ] || die "node not found (set NODE=/path/to/node)"
  local t
  [ -d "$ROOT/node_modules/@grpc/grpc-js" ] || die "run npm install first (needs @grpc/grpc-js)"

  local wanted=("$@") s
  [ ${#wanted[@]} -gt 0 ] || wanted=("${ALL_SCENARIOS[@]}")
  local tools=(ip tcpdump dumpcap wireguard-go wg openssl curl ss)
  for s in "${wanted[@]}"; do
    [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario: $s (see --list)"
    case $s in
      mqtt-*) tools+=(mosquitto mosquitto_sub mosquitto_pub) ;;
      docker-*) tools+=(nft) ;;
    esac
  done
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null || die "missing tool: $t"
  done

  trap cleanup EXIT
  trap 'exit 130' INT TERM
  WORK=$(mktemp -d /tmp/nm-lab.XXXXXX)
  mkdir -p "$WORK/log" "$WORK/cap" "$CAPTURES"
  teardown_ns
  make_pki
  write_hosts

  local done_vpn=0 done_docker=0
  for s in "${wanted[@]}"; do
    case $s in
      vpn-underlay | vpn-tunnel)
        [ $done_vpn = 1 ] && continue
        done_vpn=1
        s=vpn
        ;;
      docker-node | docker-researcher)
        [ $done_docker = 1 ] && continue
        done_docker=1
        s=docker
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
