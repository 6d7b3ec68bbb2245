#!/bin/bash
# bench-pps.sh — benchmark row 6 (issue 6): packet rate through br-int on
# OVS-DPDK, anet's compiled pipeline against OVS NORMAL and OVN.
#
# What: one private OVS-DPDK (ovsdb-server + ovs-vswitchd-dpdk, run by path,
# never through the system alternative) with br-int (datapath_type=netdev)
# and two dpdkvhostuserclient ports vm1 and vm2, numbered with the OpenFlow
# ports anet's compiler gives them.  Two dpdk-testpmd instances are the
# "VMs" (net_virtio_user, server=1, --in-memory): vm1's sends UDP frames of
# a fixed 5-tuple in txonly mode, vm2's counts in rxonly mode.  The same
# bridge and the same VMs then run, each for BPPS_WARM s of warm-up and
# BPPS_SECS s measured, at 64- and 1500-byte frames (with FCS):
#
#   normal   one flow actions=NORMAL (vm2's MAC a static FDB entry);
#   anet_l2  anet's compiled pipeline of one switch with the two ports
#            (bench-pps-flows pushes the host's flows with anet's OpenFlow
#            codec in one bundle, as the agent does);
#   anet_l3  anet's routed path: two switches and a router, frames sent to
#            the router's MAC for the address on the other switch;
#   ovn_l2   OVN's pipeline of the same logical switch (private NB/SB,
#            ovn-northd, ovn-controller on this vswitchd, ports bound by
#            external_ids:iface-id), same MACs and addresses, port security
#            on as in anet;
#   ovn_l3   OVN's pipeline of the same routed topology.
#
# Figures per scenario and size: Mpps delivered to vm2 (OpenFlow port
# counters of the vswitchd, read with ovs-ofctl dump-ports before and after
# the window), vm2's testpmd Rx-pps as a cross-check, what vm1 offered, and
# from `dpif-netdev/pmd-stats-show` (cleared at the start of the window)
# the processing cycles per packet, EMC / SMC / megaflow hit rates and the
# average subtable lookups per megaflow hit — the last in a short extra
# window with EMC insertion off (BPPS_MF_SECS, default 2 s), since one
# 5-tuple otherwise never reaches the classifier (its Mpps and cycles are
# reported too, as pps_<scenario>_<size>_noemc_*).
#
# Machine: two cores.  PMD on core 1 (pmd-cpu-mask 0x2, pmd-maxsleep 500 so
# it sleeps between runs), OVS's other DPDK threads on core 0
# (dpdk-lcore-mask 0x1); both testpmd forwarding lcores on core 0 (their
# main lcores, which only print stats, on core 1).  The rig is therefore
# two spinning testpmds sharing a core against one PMD on the other: the
# PMD is the bottleneck as long as nothing else runs; absolute figures are
# noisy when the machine is busy, the ratios of one run much less so.
#
# Hugepages: raises nr_hugepages by what this run needs (BPPS_PAGES, 2 MiB
# each) on top of what is there and lowers it by the same amount at the
# end; every DPDK process has its own --file-prefix (anet-bpps-PID*), whose
# hugepage files are removed at the end.  All processes, the network
# namespace (the netdev datapath's tap devices would clash with other OVS
# instances) and the run dir /tmp/anet-bpps-PID go on exit, also on failure
# or interrupt.  Installs nothing: fails clearly when openvswitch-switch-dpdk
# or dpdk-dev are missing (scripts/bench installs them); the OVN scenarios
# are skipped with a note when ovn-central / ovn-host are missing.
#
# Output: human-readable lines plus "RESULT key=value" lines
# (pps_<scenario>_<size>_{mpps,cycles,emc_hit_pct,smc_hit_pct,
# megaflow_hit_pct,subtable_lookups,offered_mpps,testpmd_mpps}).  Exits
# non-zero only when something breaks, never on a threshold.
#
# Usage: bench-pps.sh BENCH_PPS_FLOWS
#   env: BPPS_WARM (5) BPPS_SECS (10) BPPS_MF_SECS (2) BPPS_SIZES ("64 1500")
#        BPPS_SCENARIOS ("normal anet_l2 anet_l3 ovn_l2 ovn_l3")
#        BPPS_QSIZE (32768: virtio ring size, large so that the two testpmds
#        time-sharing core 0 never starve the PMD) BPPS_TP_MEM (256 MiB)
#        debugging: BPPS_DEBUG=DIR (copy the run dir there at exit),
#        BPPS_EAL_EXTRA (more EAL options for testpmd),
#        BPPS_RX_CORES / BPPS_RX_MAIN (the rx testpmd's lcores)
set -euo pipefail

FLOWS=${1:?usage: bench-pps.sh BENCH_PPS_FLOWS}
WARM=${BPPS_WARM:-5}
SECS=${BPPS_SECS:-10}
SIZES=${BPPS_SIZES:-64 1500}
SCENARIOS=${BPPS_SCENARIOS:-normal anet_l2 anet_l3 ovn_l2 ovn_l3}
VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
OVS_MEM=512                 # MiB of hugepages for OVS (dpdk-socket-mem/limit)
TP_MEM=${BPPS_TP_MEM:-256}                  # MiB for each testpmd
QSIZE=${BPPS_QSIZE:-32768}     # virtio ring size: absorbs the testpmds time-sharing core 0
# One testpmd more than run at once: vhost keeps a stopped VM's memory mapped
# until it notices the disconnect, so the next one must not wait for it.
PAGES=${BPPS_PAGES:-$(( (OVS_MEM + 3 * TP_MEM) / 2 + 32 ))}
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
D=/tmp/anet-bpps-$$
NS=anet-bpps-$$
PFX=anet-bpps-$$

die() { echo "bench-pps: error: $*" >&2; exit 1; }
note() { echo "bench-pps: $*" >&2; }

# --- prerequisites (nothing is installed here) ---------------------------
[ -x "$VSWITCHD" ] || die "no $VSWITCHD (apt-get install openvswitch-switch-dpdk; scripts/bench does)"
command -v dpdk-testpmd >/dev/null || die "no dpdk-testpmd (apt-get install dpdk-dev; scripts/bench does)"
[ -x "$FLOWS" ] || die "no bench-pps-flows at $FLOWS"
[ -d "$HP" ] || die "no 2 MiB hugepage support ($HP)"
[ "$(id -u)" = 0 ] || die "must run as root (hugepages, namespaces)"
have_ovn=1
for c in ovn-northd ovn-controller ovn-nbctl; do
    command -v $c >/dev/null || have_ovn=0
done

# --- clean-up --------------------------------------------------------------
pages_added=0
mounted_huge=0
TX_PID=""
RX_PID=""

stop_pid() { # PID...: TERM, wait up to 3 s, KILL
    local p alive
    for p in "$@"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for _ in $(seq 30); do
        alive=0
        for p in "$@"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        sleep 0.1
    done
    for p in "$@"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
    return 0
}

pidfile_pid() { cat "$1" 2>/dev/null || true; }

cleanup() {
    set +e
    stop_pid "$TX_PID" "$RX_PID"
    local pids="" f
    for f in ovn-controller northd nb sb ovs-vswitchd ovsdb-server; do
        pids="$pids $(pidfile_pid "$D/$f.pid")"
    done
    # shellcheck disable=SC2086
    stop_pid $pids
    ip netns delete "$NS" 2>/dev/null
    rm -f /dev/hugepages/"$PFX"* 2>/dev/null
    rm -rf /var/run/dpdk/"$PFX"* 2>/dev/null     # EAL runtime dirs
    if [ "$pages_added" -gt 0 ]; then
        local now
        now=$(cat "$HP/nr_hugepages")
        echo $(( now > pages_added ? now - pages_added : 0 )) >"$HP/nr_hugepages"
    fi
    if [ $mounted_huge = 1 ] && [ -z "$(ls -A /dev/hugepages 2>/dev/null)" ]; then
        umount /dev/hugepages 2>/dev/null
    fi
    [ -n "${BPPS_DEBUG:-}" ] && cp -r "$D" "$BPPS_DEBUG"
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$D"
mkdir -p "$D"
export OVS_RUNDIR=$D OVS_LOGDIR=$D OVS_DBDIR=$D OVS_SYSCONFDIR=$D
export OVS_PKGDATADIR=/usr/share/openvswitch
export OVN_RUNDIR=$D OVN_LOGDIR=$D OVN_DBDIR=$D OVN_SYSCONFDIR=$D

# --- hugepages ---------------------------------------------------------------
if ! grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages || die "cannot mount hugetlbfs on /dev/hugepages"
    mounted_huge=1
fi
before=$(cat "$HP/nr_hugepages")
echo $(( before + PAGES )) >"$HP/nr_hugepages" || die "cannot raise nr_hugepages"
after=$(cat "$HP/nr_hugepages")
pages_added=$(( after > before ? after - before : 0 ))
echo "$pages_added" >"$D/hugepages.added"
[ "$pages_added" -ge "$PAGES" ] || die "asked for $PAGES more 2 MiB hugepages, got $pages_added (memory fragmented or short?)"

# --- topologies, compiled by anet ------------------------------------------
cat >"$D/l2.yaml" <<'EOF'
hosts:
  - name: hv1
    tunnel_ip: 10.200.0.11/24
switches:
  - name: lan
    cidr: 10.0.0.0/24
ports:
  - {name: vm1, host: hv1, switch: lan, ip: 10.0.0.11}
  - {name: vm2, host: hv1, switch: lan, ip: 10.0.0.12}
EOF
cat >"$D/l3.yaml" <<'EOF'
hosts:
  - name: hv1
    tunnel_ip: 10.200.0.11/24
switches:
  - name: left
    cidr: 10.1.0.0/24
  - name: right
    cidr: 10.2.0.0/24
routers:
  - name: r1
    ports:
      - {switch: left, ip: 10.1.0.1/24}
      - {switch: right, ip: 10.2.0.1/24}
ports:
  - {name: vm1, host: hv1, switch: left, ip: 10.1.0.11}
  - {name: vm2, host: hv1, switch: right, ip: 10.2.0.11}
EOF
"$FLOWS" info "$D/l2.yaml" hv1 >"$D/l2.info" || die "anet refused the L2 topology"
"$FLOWS" info "$D/l3.yaml" hv1 >"$D/l3.info" || die "anet refused the L3 topology"
field() { awk -v k="$2" -v n="$3" -v c="$4" '$1 == k && $2 == n {print $c}' "$1"; }
OF1=$(field "$D/l2.info" port vm1 4); OF2=$(field "$D/l2.info" port vm2 4)
[ -n "$OF1" ] && [ -n "$OF2" ] || die "no compiled ports vm1/vm2"
[ "$OF1" = "$(field "$D/l3.info" port vm1 4)" ] && [ "$OF2" = "$(field "$D/l3.info" port vm2 4)" ] \
    || die "the L2 and L3 topologies number vm1/vm2 differently"
MAC1=$(field "$D/l2.info" port vm1 5); MAC2=$(field "$D/l2.info" port vm2 5)
L2IP1=$(field "$D/l2.info" port vm1 6); L2IP2=$(field "$D/l2.info" port vm2 6)
L3IP1=$(field "$D/l3.info" port vm1 6); L3IP2=$(field "$D/l3.info" port vm2 6)
RMAC1=$(awk '$1 == "router" && $3 == "left" {print $4}' "$D/l3.info")
RMAC2=$(awk '$1 == "router" && $3 == "right" {print $4}' "$D/l3.info")
[ "$MAC1" = "$(field "$D/l3.info" port vm1 5)" ] || die "vm1's MAC differs between topologies"
[ -n "$RMAC1" ] && [ -n "$RMAC2" ] || die "no router MACs in the L3 topology"

# --- OVS-DPDK ----------------------------------------------------------------
ip netns add "$NS" || die "cannot create network namespace $NS"
ip -n "$NS" link set lo up
VSCTL=(ovs-vsctl --db="unix:$D/db.sock" --timeout=30)
OFCTL=(ovs-ofctl -O OpenFlow15)
BR="unix:$D/br-int.mgmt"
APPCTL=(ovs-appctl -t "$D/ovs-vswitchd.ctl")
ovsdb-tool create "$D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$D/conf.db" --remote="punix:$D/db.sock" --pidfile="$D/ovsdb-server.pid" \
    --unixctl="$D/ovsdb-server.ctl" --log-file="$D/ovsdb-server.log" --detach </dev/null \
    2>>"$D/start.log" || die "cannot start ovsdb-server"
"${VSCTL[@]}" --no-wait init -- set Open_vSwitch . \
    other_config:dpdk-init=true \
    other_config:dpdk-extra="--file-prefix=$PFX --no-pci" \
    other_config:dpdk-socket-mem=$OVS_MEM other_config:dpdk-socket-limit=$OVS_MEM \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
    other_config:pmd-maxsleep=500
ip netns exec "$NS" "$VSWITCHD" "unix:$D/db.sock" --pidfile="$D/ovs-vswitchd.pid" \
    --unixctl="$D/ovs-vswitchd.ctl" --log-file="$D/ovs-vswitchd.log" --disable-system \
    --detach </dev/null 2>>"$D/start.log" \
    || { tail -n 20 "$D/ovs-vswitchd.log" >&2; die "cannot start $VSWITCHD"; }
[ "$("${VSCTL[@]}" get Open_vSwitch . dpdk_initialized)" = true ] \
    || { tail -n 20 "$D/ovs-vswitchd.log" >&2; die "DPDK did not initialise in ovs-vswitchd"; }
"${VSCTL[@]}" add-br br-int -- set bridge br-int datapath_type=netdev fail_mode=secure \
    protocols=OpenFlow10,OpenFlow13,OpenFlow15 \
    -- add-port br-int vm1 -- set Interface vm1 type=dpdkvhostuserclient \
       options:vhost-server-path="$D/vm1.sock" ofport_request="$OF1" \
    -- add-port br-int vm2 -- set Interface vm2 type=dpdkvhostuserclient \
       options:vhost-server-path="$D/vm2.sock" ofport_request="$OF2" \
    || die "cannot create br-int with the vhost-user ports"
for _ in $(seq 100); do [ -S "$D/br-int.mgmt" ] && break; sleep 0.05; done
[ "$("${VSCTL[@]}" get Interface vm1 ofport)" = "$OF1" ] || die "vm1 did not get OpenFlow port $OF1"
[ "$("${VSCTL[@]}" get Interface vm2 ofport)" = "$OF2" ] || die "vm2 did not get OpenFlow port $OF2"

# --- the VMs -------------------------------------------------------------------
# testpmd ARGS...: one forwarding lcore on core 0, main lcore (prints
# stats once a second, sleeps otherwise) on core 1.
testpmd() { # NAME PORT_SOCK MAC LOG testpmd-args...
    local name=$1 sock=$2 mac=$3 log=$4 cores=0,1 main=1
    shift 4
    [ "$name" = rx ] && cores=${BPPS_RX_CORES:-0,1} && main=${BPPS_RX_MAIN:-1}
    dpdk-testpmd -l $cores --main-lcore $main --file-prefix="$PFX-$name" --in-memory \
        --single-file-segments --no-pci -m $TP_MEM ${BPPS_EAL_EXTRA:-} \
        --vdev="net_virtio_user0,path=$sock,server=1,mac=$mac,queues=1,queue_size=$QSIZE" \
        -- --nb-cores=1 --rxq=1 --txq=1 --rxd=$QSIZE --txd=$QSIZE --total-num-mbufs=$(( 2 * QSIZE + 8192 )) \
        --stats-period=1 "$@" </dev/null >"$log" 2>&1 &
}
link_up() { # IFACE PID: OVS sees the virtio device of testpmd PID
    for _ in $(seq 100); do
        [ "$("${VSCTL[@]}" get Interface "$1" link_state 2>/dev/null)" = up ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
link_down() { # IFACE: OVS saw the virtio device go
    for _ in $(seq 50); do
        [ "$("${VSCTL[@]}" get Interface "$1" link_state 2>/dev/null)" = up ] || return 0
        sleep 0.1
    done
    return 0
}
testpmd rx "$D/vm2.sock" "$MAC2" "$D/rx.log" --forward-mode=rxonly
RX_PID=$!
link_up vm2 "$RX_PID" || { tail -n 20 "$D/rx.log" >&2; die "vm2 (rx testpmd) did not come up"; }

# port_pkts PORT rx|tx|txdrop: counters of the vswitchd (not the 5 s OVSDB
# statistics column).
port_pkts() {
    "${OFCTL[@]}" dump-ports "$BR" "$1" | awk -v w="$2" '
        /rx pkts=/ { sub(/.*rx pkts=/, ""); sub(/,.*/, ""); rx = $0 }
        /tx pkts=/ { line = $0; sub(/.*tx pkts=/, "", line); sub(/,.*/, "", line); tx = line
                     d = $0; sub(/.*drop=/, "", d); sub(/,.*/, "", d); txdrop = d }
        END { print (w == "rx") ? rx : (w == "tx") ? tx : txdrop }'
}
now_ns() { date +%s%N; }

# pmd_field FILE LABEL: the value after "LABEL:" in the PMD thread's block.
pmd_field() {
    awk -v k="$2:" '
        /^pmd thread/ { in_pmd = 1; next }
        /^main thread/ { in_pmd = 0 }
        in_pmd { line = $0; sub(/^ +/, "", line)
                 if (index(line, k) == 1) { v = substr(line, length(k) + 1); sub(/^ +/, "", v); sub(/ .*/, "", v); print v; exit } }' "$1"
}

# measure SCENARIO SIZE SRC_IP DST_IP DST_MAC
measure() {
    local sc=$1 size=$2 sip=$3 dip=$4 dmac=$5 log="$D/tx-$1-$2.log"
    # A virtio_user server restarted right after its predecessor sometimes
    # fails its first negotiation with the reconnecting vhost client: retry.
    local try
    for try in 1 2 3 4 5; do
        testpmd "tx" "$D/vm1.sock" "$MAC1" "$log" --forward-mode=txonly \
            --eth-peer=0,"$dmac" --tx-ip="$sip","$dip" --txpkts=$(( size - 4 ))
        TX_PID=$!
        link_up vm1 "$TX_PID" && break
        stop_pid "$TX_PID"
        TX_PID=""
        [ $try = 5 ] && { tail -n 20 "$log" >&2; die "vm1 (tx testpmd) did not come up"; }
        echo "  (tx testpmd did not start, attempt $try: $(grep -m1 -E 'fails|Cause' "$log" || echo '?'))" >&2
        sleep 1
    done
    sleep "$WARM"
    kill -0 "$TX_PID" 2>/dev/null || { tail -n 20 "$log" >&2; die "tx testpmd died"; }
    local rx0 tx0 dr0 t0 l0 rx1 tx1 dr1 t1 l1
    "${APPCTL[@]}" dpif-netdev/pmd-stats-clear >/dev/null
    l0=$(wc -l <"$D/rx.log")
    t0=$(now_ns); rx0=$(port_pkts "$OF1" rx); tx0=$(port_pkts "$OF2" tx); dr0=$(port_pkts "$OF2" txdrop)
    sleep "$SECS"
    t1=$(now_ns); rx1=$(port_pkts "$OF1" rx); tx1=$(port_pkts "$OF2" tx); dr1=$(port_pkts "$OF2" txdrop)
    "${APPCTL[@]}" dpif-netdev/pmd-stats-show >"$D/pmd-$sc-$size.txt"
    l1=$(wc -l <"$D/rx.log")

    # The megaflow window: with one 5-tuple the EMC answers every packet
    # and the classifier is never asked.  Stop EMC insertion, purge the
    # datapath flows (revalidator/purge drops them with their ukeys, which
    # also invalidates their EMC entries; the next upcall installs the
    # megaflow anew) and measure the classifier alone for BPPS_MF_SECS.
    "${VSCTL[@]}" set Open_vSwitch . other_config:emc-insert-inv-prob=0
    "${APPCTL[@]}" revalidator/purge >/dev/null
    sleep 1
    "${APPCTL[@]}" dpif-netdev/pmd-stats-clear >/dev/null
    local m0 m1 mt0 mt1
    mt0=$(now_ns); m0=$(port_pkts "$OF2" tx)
    sleep "${BPPS_MF_SECS:-2}"
    mt1=$(now_ns); m1=$(port_pkts "$OF2" tx)
    "${APPCTL[@]}" dpif-netdev/pmd-stats-show >"$D/pmd-$sc-$size-noemc.txt"
    "${APPCTL[@]}" dpctl/dump-flows >"$D/dpflows-$sc-$size.txt"
    "${VSCTL[@]}" remove Open_vSwitch . other_config emc-insert-inv-prob
    stop_pid "$TX_PID"
    TX_PID=""
    link_down vm1

    local f="$D/pmd-$sc-$size.txt" n emc smc mf simple sub cyc
    n=$(pmd_field "$f" "packets received")
    emc=$(pmd_field "$f" "emc hits"); smc=$(pmd_field "$f" "smc hits")
    mf=$(pmd_field "$f" "megaflow hits"); simple=$(pmd_field "$f" "simple match hits")
    cyc=$(pmd_field "$f" "avg processing cycles per packet")
    local nf="$D/pmd-$sc-$size-noemc.txt" mfn mfh mfc ndp
    sub=$(pmd_field "$nf" "avg. subtable lookups per megaflow hit")
    mfn=$(pmd_field "$nf" "packets received"); mfh=$(pmd_field "$nf" "megaflow hits")
    mfc=$(pmd_field "$nf" "avg processing cycles per packet")
    ndp=$(grep -c '^recirc_id' "$D/dpflows-$sc-$size.txt" || true)
    local tp
    tp=$(sed -n "$((l0 + 1)),${l1}p" "$D/rx.log" | tr -d '\033' \
         | awk '/Rx-pps:/ { sub(/.*Rx-pps: */, ""); s += $1 + 0; k++ } END { if (k) printf "%.4f", s / k / 1e6; else print "" }')
    awk -v sc="$sc" -v size="$size" -v t="$(( t1 - t0 ))" -v rx="$(( rx1 - rx0 ))" \
        -v tx="$(( tx1 - tx0 ))" -v dr="$(( dr1 - dr0 ))" -v n="${n:-0}" -v emc="${emc:-0}" \
        -v smc="${smc:-0}" -v mf="${mf:-0}" -v simple="${simple:-0}" -v sl="${sub:-0}" \
        -v cyc="${cyc:-0}" -v tp="$tp" -v mfn="${mfn:-0}" -v mfh="${mfh:-0}" -v mfc="${mfc:-0}" \
        -v ndp="$ndp" -v mfr="$(( m1 - m0 ))" -v mft="$(( mt1 - mt0 ))" 'BEGIN {
        s = t / 1e9; p = (n > 0) ? 100 / n : 0
        printf "  %-8s %5d B  delivered %6.3f Mpps (vm2 testpmd %s)  offered %6.3f Mpps  dropped at vm2 %.3f Mpps\n",
            sc, size, tx / s / 1e6, (tp == "") ? "n/a" : sprintf("%.3f", tp), rx / s / 1e6, dr / s / 1e6
        printf "  %-8s %5s    %s cycles/pkt  EMC %.1f%%  SMC %.1f%%  megaflow %.1f%%  simple %.1f%%\n",
            "", "", cyc, emc * p, smc * p, mf * p, simple * p
        printf "  %-8s %5s    EMC off: %.3f Mpps, %s cycles/pkt, megaflow %.1f%%, %s subtable lookups/megaflow hit, %d datapath flows\n",
            "", "", mfr / (mft / 1e9) / 1e6, mfc, (mfn > 0) ? 100 * mfh / mfn : 0, sl, ndp
        k = "pps_" sc "_" size
        printf "RESULT %s_mpps=%.4f\n", k, tx / s / 1e6
        printf "RESULT %s_offered_mpps=%.4f\n", k, rx / s / 1e6
        if (tp != "") printf "RESULT %s_testpmd_mpps=%s\n", k, tp
        printf "RESULT %s_cycles=%s\n", k, cyc
        printf "RESULT %s_emc_hit_pct=%.2f\n", k, emc * p
        printf "RESULT %s_smc_hit_pct=%.2f\n", k, smc * p
        printf "RESULT %s_megaflow_hit_pct=%.2f\n", k, mf * p
        printf "RESULT %s_subtable_lookups=%s\n", k, sl
        printf "RESULT %s_noemc_mpps=%.4f\n", k, mfr / (mft / 1e9) / 1e6
        printf "RESULT %s_noemc_cycles=%s\n", k, mfc
        printf "RESULT %s_dp_flows=%d\n", k, ndp
    }'
}

# --- scenarios -------------------------------------------------------------------
run_sizes() { # SCENARIO SRC_IP DST_IP DST_MAC
    local size
    for size in $SIZES; do
        measure "$1" "$size" "$2" "$3" "$4"
    done
}

# Flows of the bridge, for the log (and to see that a scenario installed).
n_flows() { "${OFCTL[@]}" dump-aggregate "$BR" | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p'; }

scen_normal() {
    "${OFCTL[@]}" del-flows "$BR"
    "${OFCTL[@]}" add-flow "$BR" "priority=0,actions=NORMAL"
    # vm2 never sends: a static FDB entry keeps NORMAL from flooding.
    "${APPCTL[@]}" fdb/flush br-int >/dev/null
    "${APPCTL[@]}" fdb/add br-int vm2 0 "$MAC2" >/dev/null || die "fdb/add failed"
    echo "  normal: 1 flow actions=NORMAL, vm2's MAC static in the FDB"
    run_sizes normal "$L2IP1" "$L2IP2" "$MAC2"
}

scen_anet() { # l2|l3
    "${APPCTL[@]}" fdb/flush br-int >/dev/null
    "$FLOWS" push "$D/$1.yaml" hv1 "$BR" >"$D/push-$1.log" || die "installing anet's $1 flows failed"
    "$FLOWS" flows "$D/$1.yaml" hv1 >"$D/flows-anet-$1.txt"
    echo "  anet_$1: $(cat "$D/push-$1.log") (bridge holds $(n_flows))"
    if [ "$1" = l2 ]; then
        run_sizes anet_l2 "$L2IP1" "$L2IP2" "$MAC2"
    else
        run_sizes anet_l3 "$L3IP1" "$L3IP2" "$RMAC1"
    fi
}

ovn_started=0
ovn_start() {
    local db
    for db in nb sb; do
        ovsdb-tool create "$D/$db.db" /usr/share/ovn/ovn-$db.ovsschema
        ovsdb-server "$D/$db.db" --remote="punix:$D/$db.sock" --pidfile="$D/$db.pid" \
            --unixctl="$D/$db.ctl" --log-file="$D/$db.log" --detach </dev/null 2>>"$D/start.log" \
            || die "cannot start the OVN $db ovsdb-server"
    done
    ovn-northd --ovnnb-db="unix:$D/nb.sock" --ovnsb-db="unix:$D/sb.sock" \
        --pidfile="$D/northd.pid" --unixctl="$D/northd.ctl" --log-file="$D/northd.log" \
        --detach </dev/null 2>>"$D/start.log" || die "cannot start ovn-northd"
    "${OFCTL[@]}" del-flows "$BR"
    "${APPCTL[@]}" fdb/flush br-int >/dev/null
    "${VSCTL[@]}" set Open_vSwitch . external_ids:system-id=bpps-hv1 \
        external_ids:ovn-remote="unix:$D/sb.sock" external_ids:ovn-encap-type=geneve \
        external_ids:ovn-encap-ip=127.0.0.1 external_ids:ovn-bridge=br-int \
        external_ids:ovn-bridge-datapath-type=netdev \
        -- set Interface vm1 external_ids:iface-id=vm1 \
        -- set Interface vm2 external_ids:iface-id=vm2
    ovn-controller "unix:$D/db.sock" --pidfile="$D/ovn-controller.pid" \
        --log-file="$D/ovn-controller.log" --detach </dev/null 2>>"$D/start.log" \
        || die "cannot start ovn-controller"
    ovn_started=1
}

NB=(ovn-nbctl --db="unix:$D/nb.sock" --timeout=60)

# ovn_load l2|l3: the NB contents for the same logical topology as anet's,
# same MACs and addresses, port security as anet's.
ovn_load() {
    "${NB[@]}" --if-exists ls-del lan -- --if-exists ls-del left \
        -- --if-exists ls-del right -- --if-exists lr-del r1
    if [ "$1" = l2 ]; then
        "${NB[@]}" ls-add lan \
            -- lsp-add lan vm1 -- lsp-set-addresses vm1 "$MAC1 $L2IP1" \
            -- lsp-set-port-security vm1 "$MAC1 $L2IP1" \
            -- lsp-add lan vm2 -- lsp-set-addresses vm2 "$MAC2 $L2IP2" \
            -- lsp-set-port-security vm2 "$MAC2 $L2IP2"
    else
        "${NB[@]}" lr-add r1 \
            -- lrp-add r1 r1-left "$RMAC1" 10.1.0.1/24 \
            -- lrp-add r1 r1-right "$RMAC2" 10.2.0.1/24 \
            -- ls-add left -- ls-add right \
            -- lsp-add left left-r1 -- lsp-set-type left-r1 router \
            -- lsp-set-addresses left-r1 router -- lsp-set-options left-r1 router-port=r1-left \
            -- lsp-add right right-r1 -- lsp-set-type right-r1 router \
            -- lsp-set-addresses right-r1 router -- lsp-set-options right-r1 router-port=r1-right \
            -- lsp-add left vm1 -- lsp-set-addresses vm1 "$MAC1 $L3IP1" \
            -- lsp-set-port-security vm1 "$MAC1 $L3IP1" \
            -- lsp-add right vm2 -- lsp-set-addresses vm2 "$MAC2 $L3IP2" \
            -- lsp-set-port-security vm2 "$MAC2 $L3IP2"
    fi
    # Until ovn-controller has installed the flows of this NB version.
    "${NB[@]}" --wait=hv sync || die "ovn-controller did not catch up"
    "${NB[@]}" wait-until Logical_Switch_Port vm1 up=true -- wait-until Logical_Switch_Port vm2 up=true \
        || die "OVN did not bind vm1/vm2"
    "${OFCTL[@]}" dump-flows "$BR" >"$D/flows-ovn-$1.txt"
    echo "  ovn_$1: $("${NB[@]}" --format=csv --no-headings --columns=_uuid list Logical_Switch_Port | wc -l) logical ports," \
        "$(ovn-sbctl --db="unix:$D/sb.sock" --format=csv --no-headings --columns=_uuid list Logical_Flow | wc -l) logical flows," \
        "bridge holds $(n_flows) OpenFlow flows"
}

scen_ovn() { # l2|l3
    if [ $have_ovn = 0 ]; then
        echo "  ovn_$1: skipped (OVN not installed: apt-get install ovn-central ovn-host)"
        return
    fi
    [ $ovn_started = 1 ] || ovn_start
    ovn_load "$1"
    if [ "$1" = l2 ]; then
        run_sizes ovn_l2 "$L2IP1" "$L2IP2" "$MAC2"
    else
        run_sizes ovn_l3 "$L3IP1" "$L3IP2" "$RMAC1"
    fi
}

echo "row 6: packet rate through br-int, OVS-DPDK $("$VSWITCHD" --version | head -n1 | awk '{print $NF}')" \
     "($(dpdk-testpmd --version 2>/dev/null | head -n1 | grep -o 'DPDK [0-9.]*' || echo DPDK)), vhost-user + testpmd txonly -> rxonly," \
     "${WARM} s warm + ${SECS} s measured per run, $(nproc) cores"
echo "  vm1 ofport $OF1 $MAC1, vm2 ofport $OF2 $MAC2; router r1 $RMAC1 / $RMAC2; +$pages_added hugepages"
for sc in $SCENARIOS; do
    case $sc in
        normal) scen_normal ;;
        anet_l2) scen_anet l2 ;;
        anet_l3) scen_anet l3 ;;
        ovn_l2) scen_ovn l2 ;;
        ovn_l3) scen_ovn l3 ;;
        *) die "unknown scenario $sc" ;;
    esac
done
exit 0
