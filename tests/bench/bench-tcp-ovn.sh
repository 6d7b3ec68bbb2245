#!/bin/bash
# bench-tcp-ovn.sh — TCP throughput VM <-> VM across two hosts over Geneve
# through OVN, on the same path the anet lab builds (issue 6, "across
# hosts"; the anet figures come from bench-tcp-dpdk.sh).
#
# What: two hypervisor namespaces (anet-btovn-PID-hv1/-hv2), each with its
# own ovsdb-server + ovs-vswitchd (userspace datapath, private OVS_* dirs
# under /tmp/anet-btovn-PID) and the underlay exactly as scripts/lab-lib.sh
# and the agent make it: the host's underlay veth "ul0" (TX offload off on
# both ends) in a netdev bridge br-phy carrying the tunnel IP on its internal
# interface, its peer in a Linux bridge of the underlay namespace
# anet-btovn-PID-ul; br-int (netdev, fail_mode secure, in-band off).  One
# private OVN central (ovn-lib.sh: NB, SB, ovn-northd) and one ovn-controller
# per hypervisor (system-id, ovn-remote = the SB socket, Geneve, encap IP =
# the tunnel IP).  One logical switch with two ports (addresses and port
# security as anet sets them), one workload namespace per hypervisor with a
# veth into br-int (MTU 1400, TX offload off on both ends, iface-id).  Once
# both ports are up in the SB and ping works, iperf3 sends TCP from the
# workload on hv1 to the one on hv2: REPS runs of SECS s, the median, the
# same options as bench-tcp-dpdk.sh.
#
# OVN's own defaults are kept: its Geneve ports carry options:csum=true (the
# agent's tunnel port leaves the outer UDP checksum off).  ENCAP_CSUM=false
# sets external_ids:ovn-encap-csum=false to take that difference out.
#
# Output: human-readable lines plus "RESULT tcp_ovn_gbps=...".  Everything
# (namespaces, daemons, the run dir) goes on exit, also on failure or
# interrupt.
#
# Usage: bench-tcp-ovn.sh   (needs root, iperf3, jq, ovn-central, ovn-host)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
REPS=${REPS:-3}
SECS=${SECS:-4}
ENCAP_CSUM=${ENCAP_CSUM:-}
D=/tmp/anet-btovn-$$
NSP=anet-btovn-$$
HVS=(hv1 hv2)
declare -A TUN=([hv1]=10.200.0.31 [hv2]=10.200.0.32)
declare -A VM=([hv1]=vma [hv2]=vmb)
declare -A VMIP=([vma]=10.7.0.11 [vmb]=10.7.0.12)
declare -A VMMAC=([vma]=0a:00:0a:07:00:0b [vmb]=0a:00:0a:07:00:0c)

die() { echo "bench-tcp-ovn: error: $*" >&2; exit 1; }

stop_pids() { # PID...: TERM, wait up to 3 s, KILL
    local p alive
    for p in "$@"; do kill "$p" 2>/dev/null || true; done
    for _ in $(seq 30); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        sleep 0.1
    done
    for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
    return 0
}

cleanup() {
    set +e
    local pids="" f n p
    # Whatever still runs in our namespaces (iperf3), then the daemons by
    # pid file: ovn-controllers and vswitchds before their databases.
    for n in $(ip netns list 2>/dev/null | awk -v p="$NSP-" 'index($1, p) == 1 {print $1}'); do
        for p in $(ip netns pids "$n" 2>/dev/null); do
            case $(cat "/proc/$p/comm" 2>/dev/null) in
                ovs-vswitchd|ovsdb-server|ovn-controller) ;;
                *) pids="$pids $p" ;;
            esac
        done
    done
    for f in "$D"/hv*/ovn-controller.pid "$D"/hv*/ovs-vswitchd.pid "$D"/hv*/ovsdb-server.pid \
             "$D"/c/northd.pid "$D"/c/nb.pid "$D"/c/sb.pid; do
        [ -f "$f" ] && pids="$pids $(cat "$f" 2>/dev/null)"
    done
    # shellcheck disable=SC2086
    [ -n "${pids// /}" ] && stop_pids $pids
    for n in $(ip netns list 2>/dev/null | awk -v p="$NSP-" 'index($1, p) == 1 {print $1}'); do
        ip netns delete "$n"
    done
    [ -n "${BTOVN_DEBUG:-}" ] && cp -r "$D" "$BTOVN_DEBUG"
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, OVS)"
for c in ovsdb-server ovs-vswitchd ovn-northd ovn-controller ovn-nbctl iperf3 jq ethtool; do
    command -v "$c" >/dev/null || die "missing $c"
done
# shellcheck source=tests/bench/ovn-lib.sh
. "$SRC/tests/bench/ovn-lib.sh"

# hv_env HV: the OVS/OVN environment of hypervisor HV (every daemon and
# tool that talks to its OVS needs it).
hv_env() {
    local d=$D/$1
    echo "OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d" \
         "OVS_PKGDATADIR=/usr/share/openvswitch" \
         "OVN_RUNDIR=$d OVN_LOGDIR=$d OVN_DBDIR=$d OVN_SYSCONFDIR=$d"
}
# in_hv HV CMD...: CMD inside HV's namespace with HV's environment.
# shellcheck disable=SC2046
in_hv() { local h=$1; shift; ip netns exec "$NSP-$h" env $(hv_env "$h") "$@"; }
vsctl() { local h=$1; shift; in_hv "$h" ovs-vsctl --db="unix:$D/$h/db.sock" --timeout=30 "$@"; }

mkdir -p "$D"
echo "== TCP VM<->VM across two hosts over Geneve through OVN (hv1 -> hv2)"

# --- OVN central --------------------------------------------------------------
ovn_start_central "$D/c"

# --- underlay -------------------------------------------------------------------
ip netns add "$NSP-ul"
ip -n "$NSP-ul" link set lo up
ip -n "$NSP-ul" link add br-ul type bridge
ip -n "$NSP-ul" link set br-ul up

# --- hypervisors ----------------------------------------------------------------
i=0
for h in "${HVS[@]}"; do
    i=$((i + 1))
    d=$D/$h
    mkdir -p "$d"
    ip netns add "$NSP-$h"
    ip -n "$NSP-$h" link set lo up
    ip link add ul0 netns "$NSP-$h" type veth peer name "h$i" netns "$NSP-ul"
    ip -n "$NSP-ul" link set "h$i" master br-ul
    ip netns exec "$NSP-ul" ethtool -K "h$i" tx off >/dev/null
    ip netns exec "$NSP-$h" ethtool -K ul0 tx off >/dev/null
    ip -n "$NSP-ul" link set "h$i" up
    ip -n "$NSP-$h" link set ul0 up

    # shellcheck disable=SC2046
    env $(hv_env "$h") ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    in_hv "$h" ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" \
        --pidfile="$d/ovsdb-server.pid" --unixctl="$d/ovsdb-server.ctl" \
        --log-file="$d/ovsdb-server.log" --detach </dev/null 2>>"$d/start.log" \
        || die "$h: cannot start ovsdb-server"
    vsctl "$h" --no-wait init
    in_hv "$h" ovs-vswitchd "unix:$d/db.sock" --pidfile="$d/ovs-vswitchd.pid" \
        --unixctl="$d/ovs-vswitchd.ctl" --log-file="$d/ovs-vswitchd.log" --disable-system \
        --detach </dev/null 2>>"$d/start.log" \
        || { tail -n 20 "$d/ovs-vswitchd.log" >&2; die "$h: cannot start ovs-vswitchd"; }

    # br-phy and br-int as the agent makes them; the tunnel IP on br-phy.
    vsctl "$h" add-br br-phy -- set bridge br-phy datapath_type=netdev \
            other_config:disable-in-band=true -- add-port br-phy ul0 \
        -- add-br br-int -- set bridge br-int datapath_type=netdev fail_mode=secure \
            other_config:disable-in-band=true \
        || die "$h: cannot create br-phy/br-int"
    for _ in $(seq 50); do
        ip -n "$NSP-$h" link show br-phy >/dev/null 2>&1 && break
        sleep 0.1
    done
    ip -n "$NSP-$h" addr add "${TUN[$h]}/24" dev br-phy || die "$h: no br-phy interface"
    ip -n "$NSP-$h" link set br-phy up

    # The workload: its namespace and a veth into br-int, as lab_plumb_port.
    vm=${VM[$h]}
    ip netns add "$NSP-$vm"
    ip -n "$NSP-$vm" link set lo up
    ip netns exec "$NSP-$vm" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
    ip link add "$vm" netns "$NSP-$h" mtu 1400 type veth peer name eth0 netns "$NSP-$vm" mtu 1400
    ip -n "$NSP-$vm" link set eth0 address "${VMMAC[$vm]}"
    ip -n "$NSP-$vm" addr add "${VMIP[$vm]}/24" dev eth0
    ip netns exec "$NSP-$h" ethtool -K "$vm" tx off >/dev/null
    ip netns exec "$NSP-$vm" ethtool -K eth0 tx off >/dev/null
    ip -n "$NSP-$h" link set "$vm" up
    ip -n "$NSP-$vm" link set eth0 up
    vsctl "$h" add-port br-int "$vm" -- set Interface "$vm" external_ids:iface-id="$vm" \
        || die "$h: cannot add $vm to br-int"

    # The chassis.
    csum=()
    [ -n "$ENCAP_CSUM" ] && csum=(external_ids:ovn-encap-csum="$ENCAP_CSUM")
    vsctl "$h" set Open_vSwitch . external_ids:system-id="btovn-$h" \
        external_ids:ovn-remote="unix:$D/c/sb.sock" external_ids:ovn-encap-type=geneve \
        external_ids:ovn-encap-ip="${TUN[$h]}" external_ids:ovn-bridge=br-int \
        external_ids:ovn-bridge-datapath-type=netdev "${csum[@]}"
    in_hv "$h" ovn-controller "unix:$d/db.sock" --pidfile="$d/ovn-controller.pid" \
        --log-file="$d/ovn-controller.log" --detach </dev/null 2>>"$d/start.log" || die "$h: cannot start ovn-controller"
done

# --- the logical switch -----------------------------------------------------------
"${NB[@]}" ls-add net \
    -- lsp-add net vma -- lsp-set-addresses vma "${VMMAC[vma]} ${VMIP[vma]}" \
    -- lsp-set-port-security vma "${VMMAC[vma]} ${VMIP[vma]}" \
    -- lsp-add net vmb -- lsp-set-addresses vmb "${VMMAC[vmb]} ${VMIP[vmb]}" \
    -- lsp-set-port-security vmb "${VMMAC[vmb]} ${VMIP[vmb]}"
"${NB[@]}" wait-until Logical_Switch_Port vma up=true -- wait-until Logical_Switch_Port vmb up=true \
    || die "OVN did not bind vma/vmb"
"${NB[@]}" --wait=hv sync || die "the ovn-controllers did not catch up"
for h in "${HVS[@]}"; do
    t=$(vsctl "$h" --bare --columns=options find Interface type=geneve)
    [ -n "$t" ] || die "$h: ovn-controller made no Geneve port"
    echo "  $h: chassis btovn-$h, Geneve port $t"
done

ok=0
for _ in $(seq 20); do
    if ip netns exec "$NSP-vma" ping -c1 -W1 "${VMIP[vmb]}" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.5
done
[ $ok = 1 ] || die "vma cannot ping vmb across the Geneve tunnel"
echo "  both ports up in the SB, vma pings vmb"

# --- the measurement (as bench-tcp-dpdk.sh's measure) ---------------------------------
out=()
for i in $(seq "$REPS"); do
    ip netns exec "$NSP-vmb" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    sleep 0.5
    ip netns exec "$NSP-vma" iperf3 -c "${VMIP[vmb]}" -p 5201 -t "$SECS" -J \
        >"$D/run-$i.json" 2>&1 || true
    wait || true
    g=$(jq -r '.end.sum_received.bits_per_second / 1e9' "$D/run-$i.json" 2>/dev/null || echo 0)
    echo "  ovn run $i: $(printf '%.3f' "$g") Gbit/s, $(jq -r '.end.sum_sent.retransmits // "?"' "$D/run-$i.json" 2>/dev/null) retransmits"
    out+=("$g")
done
ovn=$(printf '%s\n' "${out[@]}" | sort -g | awk '{v[NR]=$1} END {printf "%.3f\n", v[int((NR+1)/2)]}')
awk -v g="$ovn" 'BEGIN { exit !(g > 0) }' \
    || { jq -r '.error // empty' "$D"/run-*.json >&2 2>/dev/null; die "iperf3 measured nothing"; }

echo "RESULT tcp_ovn_gbps=$ovn"
