# shellcheck shell=bash
# lib.sh — shared helpers of the anet end-to-end tests.  Source it from a
# tests/e2e/test-*.sh script, then call e2e_init NAME.
#
# Each test brings up its own lab (unique --name, so its namespaces, run dir
# and ports never collide with a user's lab) with the binaries of the build
# under test ($ANET_BINARY_DIR, set by CTest), and tears it down in an EXIT
# trap, also when an assertion fails or the test is interrupted.  Assertions
# print what they check; the test exits non-zero if any failed.

set -euo pipefail

E2E_SRC=${ANET_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
E2E_BIN=${ANET_BINARY_DIR:-$E2E_SRC/build}
E2E_LAB=$E2E_SRC/scripts/anet-lab
E2E_TOPO=$E2E_SRC/topology-examples
E2E_FAILS=0
E2E_T0=$(date +%s)
# shellcheck source=../../scripts/lab-lib.sh
. "$E2E_SRC/scripts/lab-lib.sh"

e2e_say() { echo "[$(( $(date +%s) - E2E_T0 ))s] $*"; }
e2e_ok() { echo "  ok: $*"; }
e2e_fail() { echo "  FAIL: $*"; E2E_FAILS=$((E2E_FAILS + 1)); }
# e2e_check DESCRIPTION COMMAND...: runs COMMAND, records pass/fail.
e2e_check() {
    local d=$1
    shift
    if "$@"; then e2e_ok "$d"; else e2e_fail "$d"; fi
}
# e2e_eq DESCRIPTION EXPECTED ACTUAL
e2e_eq() {
    if [ "$2" = "$3" ]; then
        e2e_ok "$1 ($3)"
    else
        e2e_fail "$1: expected '$2', got '$3'"
    fi
}
# Aborts the test right away (the EXIT trap still cleans up).
e2e_abort() { echo "  FAIL: $*"; E2E_FAILS=$((E2E_FAILS + 1)); exit 1; }

e2e_cleanup() {
    local rc=$?
    # Background jobs of the test (pings, nc) first.
    local j
    for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done
    if [ "${E2E_KEEP:-0}" = 1 ]; then
        echo "E2E_KEEP=1: leaving lab $LAB up (scripts/anet-lab down --name $LAB)"
    else
        lab_down >/dev/null 2>&1 || true
    fi
    rm -rf "$E2E_TMP"
    if [ $rc -eq 0 ] && [ "$E2E_FAILS" -gt 0 ]; then rc=1; fi
    echo "== $E2E_NAME: $([ $rc -eq 0 ] && echo PASS || echo "FAIL ($E2E_FAILS failed checks)") in $(( $(date +%s) - E2E_T0 ))s"
    exit $rc
}

# e2e_init NAME: checks prerequisites, sets the lab variables and the trap.
e2e_init() {
    E2E_NAME=$1
    [ "$(id -u)" -eq 0 ] || { echo "$E2E_NAME: needs root (namespaces, OVS)"; exit 1; }
    local b
    for b in anet-controller anetctl anet-agent; do
        [ -x "$E2E_BIN/$b" ] || { echo "$E2E_NAME: missing $E2E_BIN/$b"; exit 1; }
    done
    lab_init "$E2E_NAME" "$E2E_BIN"
    E2E_TMP=$(mktemp -d "/tmp/anet-e2e-$E2E_NAME.XXXXXX")
    trap e2e_cleanup EXIT
    trap 'exit 130' INT TERM
    echo "== $E2E_NAME (lab $LAB, binaries $E2E_BIN)"
}

# e2e_up TOPOLOGY: the lab, through the same script users run.
e2e_up() {
    e2e_say "anet-lab up $(basename "$1")"
    if ! "$E2E_LAB" up "$1" --name "$LAB" --build-dir "$E2E_BIN"; then
        e2e_fail "anet-lab up $(basename "$1")"
        local f
        for f in "$LAB_RUN"/*.log; do
            [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
        done
        exit 1
    fi
    e2e_ok "anet-lab up (reachability matrix as expected)"
}

# e2e_ofdump HOST: br-int's flows as OVS itself reports them, without
# counters, sorted — the independent oracle.
e2e_ofdump() {
    local d=$LAB_RUN/$1
    env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d" OVS_SYSCONFDIR="$d" \
        ovs-ofctl -O OpenFlow15 dump-flows --no-stats "unix:$d/br-int.mgmt" \
        | grep 'actions=' | sed 's/^ *//' | sort
}

# e2e_dump_all DIR: one dump file per host into DIR.
e2e_dump_all() {
    local h
    mkdir -p "$1"
    for h in $(e2e_hosts); do e2e_ofdump "$h" >"$1/$h"; done
}

# Hosts of the lab (from its run dir: works with the controller down).
e2e_hosts() { ls "$LAB_RUN/hosts"; }

# e2e_wait_synced [SECONDS]: every host connected and at its desired
# generation (ports not considered; lab_wait_ready also wants them up).
e2e_wait_synced() {
    local t=${1:-30} i
    for i in $(seq $(( t * 4 ))); do
        lab_show_json 2>/dev/null | jq -e '(.hosts | length) > 0 and all(.hosts[];
            .connected == true and .applied_generation == .desired_generation)' \
            >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    return 1
}

# Fields of a port from the lab's record: e2e_port_host / _ip (no prefix) / _switch.
e2e_port_host() { cut -d'|' -f1 "$LAB_RUN/ports/$1"; }
e2e_port_ip() { cut -d'|' -f4 "$LAB_RUN/ports/$1" | cut -d/ -f1; }
e2e_port_switch() { cut -d'|' -f6 "$LAB_RUN/ports/$1"; }
e2e_ports() { ls "$LAB_RUN/ports"; }

# e2e_cross_pair [EXCLUDE...]: "A B", two workloads on the same switch but
# different hosts (traffic crosses the tunnel), none of them excluded.
e2e_cross_pair() {
    local a b
    for a in $(e2e_ports); do
        for b in $(e2e_ports); do
            [ "$a" != "$b" ] || continue
            case " $* " in *" $a "*|*" $b "*) continue ;; esac
            [ -n "$(e2e_port_ip "$a")" ] && [ -n "$(e2e_port_ip "$b")" ] || continue
            [ "$(e2e_port_switch "$a")" = "$(e2e_port_switch "$b")" ] || continue
            [ "$(e2e_port_host "$a")" != "$(e2e_port_host "$b")" ] || continue
            echo "$a $b"
            return 0
        done
    done
    return 1
}

# e2e_ping FROM TO [COUNT [INTERVAL]]: prints the number of replies.
e2e_ping() {
    local out
    out=$(ip netns exec "$(lab_wl_ns "$1")" ping -n -q -c "${3:-3}" \
          -i "${4:-0.2}" -W 1 "$(e2e_port_ip "$2")" 2>&1 || true)
    sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' <<<"$out" | head -n1
}

# e2e_ping_loss FILE: packets lost per a finished `ping -q` output in FILE.
e2e_ping_loss() {
    awk '/packets transmitted/ { print $1 - $4; found = 1 }
         END { if (!found) print "no-summary" }' "$1"
}

# ---------------------------------------------------------------- routing
# (helpers of the routing tests; they parse iputils ping and traceroute
# output, so they work on any IP, not only workloads)

# e2e_ping_ip FROM IP [COUNT]: replies from IP to workload FROM's pings.
e2e_ping_ip() {
    local out
    out=$(ip netns exec "$(lab_wl_ns "$1")" ping -n -q -c "${3:-3}" -i 0.2 -W 1 "$2" 2>&1 || true)
    sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' <<<"$out" | head -n1
}

# e2e_ping_ttl FROM IP: the TTL of the first echo reply (empty if none).
e2e_ping_ttl() {
    ip netns exec "$(lab_wl_ns "$1")" ping -n -c 2 -i 0.2 -W 1 "$2" 2>&1 \
        | sed -n 's/^[0-9]* bytes from .* ttl=\([0-9]*\) .*/\1/p' | head -n1 || true
}

# e2e_icmp_errors FROM IP: ICMP errors that FROM's pings to IP draw, as
# unique "SOURCE KIND" lines (KIND: host-unreachable, net-unreachable,
# ttl-exceeded, other), from iputils ping's "From X icmp_seq=N ..." lines.
e2e_icmp_errors() {
    ip netns exec "$(lab_wl_ns "$1")" ping -n -c 2 -i 0.5 -W 4 "$2" 2>&1 \
        | awk '/^From / {
                 k = "other"
                 if ($0 ~ /Destination Host Unreachable/) k = "host-unreachable"
                 else if ($0 ~ /Destination Net Unreachable/) k = "net-unreachable"
                 else if ($0 ~ /Time to live exceeded/) k = "ttl-exceeded"
                 print $2, k }' | sort -u || true
}

# e2e_traceroute FROM IP [MAXHOPS]: the hops of `traceroute -n` (UDP, one
# probe per hop), one address per line, "*" where no answer came.
e2e_traceroute() {
    ip netns exec "$(lab_wl_ns "$1")" traceroute -n -q 1 -w 1 -N 1 -m "${3:-6}" "$2" 2>/dev/null \
        | awk '$1 ~ /^[0-9]+$/ { print $2 }' || true
}

# e2e_tunnel_tx HOST: packets br-int sent out of the Geneve port (ofport
# 4000), as OVS counts them.
e2e_tunnel_tx() {
    local d=$LAB_RUN/$1
    env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d" OVS_SYSCONFDIR="$d" \
        ovs-ofctl -O OpenFlow15 dump-ports "unix:$d/br-int.mgmt" 4000 \
        | sed -n 's/.*tx pkts=\([0-9]*\).*/\1/p' | head -n1 || true
}

# e2e_router_ip ROUTER SWITCH: the router's port address on SWITCH (no
# prefix), from show JSON's "routers".
e2e_router_ip() {
    lab_show_json | jq -r --arg r "$1" --arg s "$2" \
        '(.routers // [])[] | select(.name == $r) | .ports[] | select(.switch == $s) | .ip | split("/")[0]'
}

# ---------------------------------------------------------------- outside
# (helpers of the external gateway / NAT tests; they take namespaces, so
# they work for workloads, lab_wl_ns PORT, and outsides, lab_ext_ns NETWORK)

# e2e_ns_ping NS IP [COUNT]: replies to pings from namespace NS.
e2e_ns_ping() {
    local out
    out=$(ip netns exec "$1" ping -n -q -c "${3:-3}" -i 0.3 -W 1 "$2" 2>&1 || true)
    sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' <<<"$out" | head -n1
}

# e2e_retry TRIES CMD...: runs CMD up to TRIES times, 1 s apart, until it
# succeeds (ARP, conntrack and the agent attaching an iface may each cost
# the first try).
e2e_retry() {
    local n=$1 i
    shift
    for ((i = 1; i <= n; i++)); do
        "$@" && return 0
        [ $i -lt $n ] && sleep 1
    done
    return 1
}

# e2e_listen NS PORT FILE [SECONDS]: a one-shot busybox nc TCP listener in
# NS (in the background, killed after SECONDS, default 30), whatever it
# receives in FILE; returns once the socket listens (at most ~3 s).
e2e_listen() {
    local ns=$1 port=$2 f=$3 i
    : >"$f"
    timeout "${4:-30}" ip netns exec "$ns" busybox nc -l -p "$port" >"$f" 2>&1 </dev/null &
    for i in $(seq 30); do
        ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    echo "    (listener on port $port in $ns did not come up)"
    return 1
}

# e2e_tcp_send NS IP PORT MSG [SECONDS]: connects from NS to IP:PORT (bash
# /dev/tcp: succeeds only once the three-way handshake completed), sends
# MSG and a newline, closes.  Fails on refusal or after SECONDS (default 4).
e2e_tcp_send() {
    timeout "${5:-4}" ip netns exec "$1" bash -c \
        'exec 3<>"/dev/tcp/$1/$2" && printf "%s\n" "$3" >&3 && exec 3>&-' \
        _ "$2" "$3" "$4" 2>/dev/null
}

# e2e_tcp_connects NS IP PORT [SECONDS]: true when a TCP connection from NS
# to IP:PORT is established within SECONDS (default 4).
e2e_tcp_connects() {
    timeout "${4:-4}" ip netns exec "$1" bash -c 'exec 3<>"/dev/tcp/$1/$2"' \
        _ "$2" "$3" 2>/dev/null
}

# e2e_got FILE TEXT [SECONDS]: waits (default 3 s) until FILE contains TEXT.
e2e_got() {
    local i
    for i in $(seq $(( ${3:-3} * 10 ))); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# e2e_capture NS FILTER FILE [SECONDS]: starts tcpdump -n -c1 on NS's eth0
# in the background (killed after SECONDS, default 10), the first matching
# packet's line going to FILE; returns once tcpdump listens.  Read the
# result with e2e_capture_wait FILE.
e2e_capture() {
    local ns=$1 filter=$2 f=$3 i
    : >"$f"
    : >"$f.err"
    timeout "${4:-10}" ip netns exec "$ns" tcpdump -n -l -c 1 -i eth0 "$filter" \
        >"$f" 2>"$f.err" &
    for i in $(seq 50); do
        grep -q 'listening on' "$f.err" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "    (tcpdump in $ns did not start: $(head -c 200 "$f.err"))"
    return 1
}

# e2e_capture_wait FILE [SECONDS]: waits (default 3 s) for the captured
# packet and prints its source address (without port), empty if none.
e2e_capture_wait() {
    local i
    for i in $(seq $(( ${2:-3} * 10 ))); do
        [ -s "$1" ] && break
        sleep 0.1
    done
    # "HH:MM:SS.us IP SRC[.PORT] > DST[.PORT]: ..." (ICMP has no port).
    awk '$2 == "IP" { s = $3
                      if (split(s, a, ".") == 5) s = a[1] "." a[2] "." a[3] "." a[4]
                      print s; exit }' "$1"
}
