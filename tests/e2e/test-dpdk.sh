#!/bin/bash
# End-to-end: the lab in DPDK mode (`anet-lab up --dpdk`) — OVS-DPDK on
# every hypervisor, the workload veths and the underlay as net_af_packet
# DPDK ports, with the same assertions as the netdev mode (test-l2.sh):
#   - every hypervisor runs ovs-vswitchd-dpdk with DPDK initialised and the
#     lab's settings (OVS's own database as the oracle), every workload
#     interface and the underlay attached as type=dpdk net_af_packet ports,
#   - the exact ping matrix of two-switches.yaml (same switch reachable,
#     across switches not),
#   - a 20 MB TCP transfer across the tunnel, byte-exact (sha256),
#   - idle PMD threads sleep (pmd_maxsleep_us): three idle DPDK hosts cost
#     well under a core,
#   - `anet-lab down` leaves the machine as it found it: nr_hugepages back,
#     no process, namespace or DPDK file of the lab left.
# Skips (prints SKIP, exits 0) only when ovs-vswitchd-dpdk is neither
# installed nor installable, or the kernel has no 2 MiB hugepages.
. "$(dirname "$0")/lib.sh"
e2e_init e2e-dpdk
topo=$E2E_TOPO/two-switches.yaml
huge=/sys/kernel/mm/hugepages/hugepages-2048kB

if [ ! -f "$huge/nr_hugepages" ]; then
    echo "SKIP: this kernel offers no 2 MiB hugepages ($huge)"
    exit 0
fi
if [ ! -x "$LAB_DPDK_VSWITCHD" ] \
   && ! apt-cache policy openvswitch-switch-dpdk 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "SKIP: $LAB_DPDK_VSWITCHD missing and openvswitch-switch-dpdk not installable"
    exit 0
fi

# ovsctl HOST ARGS...: ovs-vsctl on HOST's private OVS (the oracle).
ovsctl() {
    local d=$LAB_RUN/$1
    shift
    env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d" OVS_SYSCONFDIR="$d" \
        ovs-vsctl --db="unix:$d/db.sock" --timeout=5 "$@"
}
# ul_rx HOST: packets HOST's underlay port received, as OVS counts them
# now (ovs-vsctl's statistics column lags by up to 5 s).
ul_rx() {
    local d=$LAB_RUN/$1
    env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d" OVS_SYSCONFDIR="$d" \
        ovs-ofctl -O OpenFlow15 dump-ports "unix:$d/br-phy.mgmt" ul0 \
        | sed -n 's/.*rx pkts=\([0-9]*\).*/\1/p' | head -n1
}
# cpu_ticks PID...: user + system clock ticks the processes used so far.
cpu_ticks() {
    local p t=0
    for p in "$@"; do
        t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0) ))
    done
    echo "$t"
}

nr_before=$(cat "$huge/nr_hugepages")
e2e_say "anet-lab up $(basename "$topo") --dpdk (nr_hugepages $nr_before)"
if ! "$E2E_LAB" up "$topo" --name "$LAB" --build-dir "$E2E_BIN" --dpdk; then
    e2e_fail "anet-lab up $(basename "$topo") --dpdk"
    for f in "/tmp/anet-$LAB-failed"/*.log; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
    done
    exit 1
fi
e2e_ok "anet-lab up --dpdk (reachability matrix as expected)"

e2e_say "OVS-DPDK on every hypervisor (ovs-vsctl as the oracle)"
nhosts=0
pids=()
for h in $(e2e_hosts); do
    nhosts=$((nhosts + 1))
    pid=$(cat "$LAB_RUN/$h/ovs-vswitchd.pid")
    pids+=("$pid")
    e2e_eq "$h: ovs-vswitchd is the DPDK build" "$LAB_DPDK_VSWITCHD" "$(readlink "/proc/$pid/exe")"
    e2e_eq "$h: dpdk_initialized" true "$(ovsctl "$h" get Open_vSwitch . dpdk_initialized)"
    for kv in dpdk-init=true dpdk-socket-mem=256 dpdk-socket-limit=256 pmd-cpu-mask=0x2 \
              dpdk-lcore-mask=0x1 pmd-maxsleep=500 "dpdk-extra=--file-prefix=anet-$h --no-pci"; do
        k=${kv%%=*}
        got=$(ovsctl "$h" get Open_vSwitch . "other_config:$k" 2>/dev/null | tr -d '"')
        e2e_eq "$h: other_config:$k" "${kv#*=}" "$got"
    done
    # Every interface the lab plumbed (workloads and the underlay) is a
    # DPDK port on DPDK's AF_PACKET vdev, bound to that very interface.
    ifaces="ul0"
    for p in $(e2e_ports); do
        [ "$(e2e_port_host "$p")" = "$h" ] && ifaces+=" $(cut -d'|' -f2 "$LAB_RUN/ports/$p")"
    done
    for i in $ifaces; do
        t=$(ovsctl "$h" get Interface "$i" type 2>&1)
        a=$(ovsctl "$h" get Interface "$i" options:dpdk-devargs 2>&1 | tr -d '"')
        if [ "$t" = dpdk ] && [[ $a =~ ^net_af_packet[0-9]+,iface=$i$ ]] \
           && ! ovsctl "$h" get Interface "$i" error 2>/dev/null | grep -qv '^\[\]$'; then
            e2e_ok "$h: $i is type=dpdk ($a)"
        else
            e2e_fail "$h: $i: type '$t', devargs '$a', error '$(ovsctl "$h" get Interface "$i" error 2>&1)'"
        fi
    done
    e2e_eq "$h: lab reserved socket_mem/2 hugepages" 128 "$(cat "$LAB_RUN/hugepages/$h")"
    # The kernel's account of the process: DPDK's memory is on hugepages,
    # socket_mem of them and not one more (dpdk-socket-limit).
    e2e_eq "$h: ovs-vswitchd-dpdk holds socket_mem in hugepages (kB)" $((256 * 1024)) \
        "$(awk '/_Hugetlb:/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps_rollup")"
done

e2e_say "ping matrix (again, after the lab settled)"
e2e_check "every same-switch pair reachable, no cross-switch pair" lab_matrix

e2e_say "TCP transfer across the tunnel (DPDK ports end to end)"
pair=$(e2e_cross_pair) || e2e_abort "topology has no same-switch pair on two hosts"
read -r a b <<<"$pair"
echo "  $a ($(e2e_port_host "$a")) -> $b ($(e2e_port_host "$b"))"
head -c 20000000 /dev/urandom >"$E2E_TMP/send"
ip netns exec "$(lab_wl_ns "$b")" timeout 60 nc -l -N -p 5001 >"$E2E_TMP/recv" 2>"$E2E_TMP/nc-l.err" &
listener=$!
for i in $(seq 50); do
    ip netns exec "$(lab_wl_ns "$b")" ss -Hltn 'sport = :5001' | grep -q . && break
    sleep 0.1
done
rx0=$(ul_rx "$(e2e_port_host "$b")")
t0=$(date +%s%N)
ip netns exec "$(lab_wl_ns "$a")" timeout 60 nc -N "$(e2e_port_ip "$b")" 5001 \
    <"$E2E_TMP/send" 2>"$E2E_TMP/nc.err" || true
wait "$listener" || true
t1=$(date +%s%N)
sent=$(sha256sum <"$E2E_TMP/send" | cut -d' ' -f1)
got=$(sha256sum <"$E2E_TMP/recv" | cut -d' ' -f1)
echo "  received $(stat -c %s "$E2E_TMP/recv") bytes in $(( (t1 - t0) / 1000000 )) ms"
e2e_eq "sha256 of 20 MB received equals sent" "$sent" "$got"
rx1=$(ul_rx "$(e2e_port_host "$b")")
echo "  $(e2e_port_host "$b"): ul0 received $((rx1 - rx0)) packets during the transfer"
e2e_check "the transfer came in through $(e2e_port_host "$b")'s underlay DPDK port (> 10000 packets)" \
    test $((rx1 - rx0)) -gt 10000

e2e_say "idle: PMD threads sleep (pmd-maxsleep 500 us)"
sleep 1
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks "${pids[@]}")
sleep 4
c1=$(cpu_ticks "${pids[@]}")
pct=$(( (c1 - c0) * 100 / (4 * hz) ))
echo "  $nhosts idle ovs-vswitchd-dpdk used $((c1 - c0)) ticks in 4 s: ${pct}% of one core (spinning PMDs: 100%)"
e2e_check "idle DPDK hosts use less than 40% of one core together (${pct}%)" test "$pct" -lt 40

e2e_say "anet-lab down leaves the machine as it found it"
# Other users may reserve hugepages meanwhile: the check is what `down`
# itself took back (measured right around it), not the start value.
nr_up=$(cat "$huge/nr_hugepages")
"$E2E_LAB" down --name "$LAB" >/dev/null
nr_down=$(cat "$huge/nr_hugepages")
echo "  nr_hugepages: $nr_before before up, $nr_up before down, $nr_down after down"
e2e_eq "down gave back the lab's $((nhosts * 128)) hugepages" $((nhosts * 128)) $((nr_up - nr_down))
left=""
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left+=" $p"; done
e2e_eq "no ovs-vswitchd-dpdk of the lab left" "" "$left"
e2e_eq "no namespace of the lab left" "" "$(ip netns list | awk '{print $1}' | grep "^$LAB_NS-" || true)"
e2e_eq "no DPDK files of the lab left" "" \
    "$(ls -d /var/run/dpdk/anet-hv[123] /dev/hugepages/anet-hv[123]map_* 2>/dev/null || true)"
