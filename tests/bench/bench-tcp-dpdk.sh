#!/bin/bash
# bench-tcp-dpdk.sh — TCP throughput VM <-> VM across two hosts over Geneve,
# the lab in DPDK mode vs the lab in netdev mode (issue 6, "across hosts").
#
# What: a two-host topology (hosts bt1, bt2; one switch; one workload on
# each host) is brought up with scripts/anet-lab, first with --dpdk
# (ovs-vswitchd-dpdk, workload veths and the underlay as net_af_packet DPDK
# ports, PMDs with pmd_maxsleep_us 500 on CPU 1), then without (plain
# userspace datapath, AF_PACKET netdev ports).  In each, TCP goes from the
# workload on bt1 to the one on bt2 through both hosts' br-int, the Geneve
# tunnel and both br-phy: iperf3 (REPS runs of SECS s, the median; installed
# with apt-get if missing and possible), else a 200 MB nc transfer timed and
# checked with sha256.  OVN on the same path: tests/bench/bench-tcp-ovn.sh.
#
# Output: human-readable lines plus "RESULT tcp_dpdk_gbps=..." and
# "RESULT tcp_netdev_gbps=..." (and the ratio).  Both labs go down on exit,
# also on failure or interrupt (namespaces, daemons, hugepages).
#
# Usage: bench-tcp-dpdk.sh [BUILD_DIR]   (default: build/ of this checkout)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$SRC/build}
LAB=$SRC/scripts/anet-lab
REPS=${REPS:-3}
SECS=${SECS:-4}
T=$(mktemp -d /tmp/anet-btcp.XXXXXX)
LABS=(btcp-dpdk btcp-netdev)

die() { echo "bench-tcp-dpdk: error: $*" >&2; exit 1; }
cleanup() {
    local l
    for l in "${LABS[@]}"; do "$LAB" down --name "$l" >/dev/null 2>&1 || true; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, OVS)"
for b in anet-controller anetctl anet-agent; do
    [ -x "$BIN/$b" ] || die "missing $BIN/$b (build first)"
done
if ! command -v iperf3 >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iperf3 \
        >/dev/null 2>&1 || echo "bench-tcp-dpdk: no iperf3; timing a 200 MB transfer instead"
fi

cat >"$T/topo.yaml" <<'EOF'
# Two hosts, one switch, one workload per host: VM <-> VM across Geneve.
hosts:
  - name: bt1
    tunnel_ip: 10.200.0.31/24
  - name: bt2
    tunnel_ip: 10.200.0.32/24
switches:
  - name: net
    cidr: 10.7.0.0/24
ports:
  - name: vma
    host: bt1
    switch: net
    ip: 10.7.0.11
  - name: vmb
    host: bt2
    switch: net
    ip: 10.7.0.12
EOF

# measure LAB: prints the throughput in Gbit/s (3 decimals).
measure() {
    local lab=$1 i g out=()
    if command -v iperf3 >/dev/null; then
        for i in $(seq "$REPS"); do
            "$LAB" exec --name "$lab" vmb iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
            sleep 0.5
            "$LAB" exec --name "$lab" vma iperf3 -c 10.7.0.12 -p 5201 -t "$SECS" -J \
                >"$T/$lab-$i.json" 2>&1 || true
            wait || true
            g=$(jq -r '.end.sum_received.bits_per_second / 1e9' "$T/$lab-$i.json" 2>/dev/null || echo 0)
            echo "  $lab run $i: $(printf '%.3f' "$g") Gbit/s, $(jq -r '.end.sum_sent.retransmits // "?"' "$T/$lab-$i.json" 2>/dev/null) retransmits" >&2
            out+=("$g")
        done
        printf '%s\n' "${out[@]}" | sort -g | awk '{v[NR]=$1} END {printf "%.3f\n", v[int((NR+1)/2)]}'
    else
        head -c 200000000 /dev/urandom >"$T/send"
        "$LAB" exec --name "$lab" vmb timeout 120 nc -l -N -p 5001 >"$T/recv" &
        sleep 0.5
        local t0 t1
        t0=$(date +%s%N)
        "$LAB" exec --name "$lab" vma timeout 120 nc -N 10.7.0.12 5001 <"$T/send" || true
        wait || true
        t1=$(date +%s%N)
        [ "$(sha256sum <"$T/send")" = "$(sha256sum <"$T/recv")" ] || die "$lab: 200 MB transfer corrupted"
        awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f\n", 200e6 * 8 / ns }'
    fi
}

echo "== TCP VM<->VM across two hosts over Geneve (bt1 -> bt2)"
"$LAB" up "$T/topo.yaml" --name btcp-dpdk --build-dir "$BIN" --dpdk >"$T/up-dpdk.log" 2>&1 \
    || { tail -n 30 "$T/up-dpdk.log" >&2; die "lab up --dpdk failed"; }
echo "  DPDK lab up ($(grep -c 'hugepages reserved' "$T/up-dpdk.log") hosts on ovs-vswitchd-dpdk)"
dpdk=$(measure btcp-dpdk)
"$LAB" down --name btcp-dpdk >/dev/null

"$LAB" up "$T/topo.yaml" --name btcp-netdev --build-dir "$BIN" >"$T/up-netdev.log" 2>&1 \
    || { tail -n 30 "$T/up-netdev.log" >&2; die "lab up (netdev) failed"; }
echo "  netdev lab up"
netdev=$(measure btcp-netdev)
"$LAB" down --name btcp-netdev >/dev/null

echo "RESULT tcp_dpdk_gbps=$dpdk"
echo "RESULT tcp_netdev_gbps=$netdev"
echo "RESULT tcp_dpdk_vs_netdev=$(awk -v a="$dpdk" -v b="$netdev" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
echo "(OVN on the same path: tests/bench/bench-tcp-ovn.sh)"
