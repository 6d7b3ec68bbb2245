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
