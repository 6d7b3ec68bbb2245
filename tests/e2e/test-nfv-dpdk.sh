#!/bin/bash
# End-to-end (anet-nfv on OVS-DPDK): three-tier-nfv.yaml in the lab's DPDK
# mode (`anet-lab up --dpdk`), where the NFV instances' ports are
# vhost-user instead of veths:
#   - fw1's two ports (fwl-fw1, fwr-fw1 on hv2) and lb1's (lb-lb1 on hv1)
#     are dpdkvhostuserclient ports of br-int on the instance's socket in
#     the host's NFV run dir, connected, with the OpenFlow numbers the
#     agent asked for (OVS's own database as the oracle);
#   - the firewall still decides: app -> db tcp 5432 passes (across hosts,
#     by way of hv2), tcp 5433 is dropped;
#   - the load balancer's VIP answers from its backends (app1, app2);
#   - the lab reserved 64 more hugepages per NFV instance of a host; an
#     `anet-lab sync` that places a firewall on a host without one adds its
#     64 (the instance comes up on vhost-user and passes traffic); and
#     `anet-lab down` gives back exactly what it took, leaving no process,
#     namespace or DPDK file behind.
# Skips (prints SKIP, exits 0) only when ovs-vswitchd-dpdk is neither
# installed nor installable, or the kernel has no 2 MiB hugepages.
. "$(dirname "$0")/lib.sh"
e2e_init e2e-nfv-dpdk
topo=$E2E_TOPO/three-tier-nfv.yaml
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
ns() { lab_wl_ns "$1"; }

nr_before=$(cat "$huge/nr_hugepages")
e2e_say "anet-lab up $(basename "$topo") --dpdk (nr_hugepages $nr_before)"
if ! "$E2E_LAB" up "$topo" --name "$LAB" --build-dir "$E2E_BIN" --dpdk; then
    e2e_fail "anet-lab up $(basename "$topo") --dpdk"
    for f in "$LAB_RUN"/*.log "/tmp/anet-$LAB-failed"/*.log; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
    done
    exit 1
fi
e2e_ok "anet-lab up --dpdk (reachability matrix as expected)"

e2e_say "NFV ports are vhost-user (ovs-vsctl as the oracle)"
# vport HOST IFACE: "ok" once IFACE is a connected dpdkvhostuserclient on
# the instance's socket with the OpenFlow number the agent requested,
# else what is wrong (the instance may still be starting: retried).
vport() {
    local h=$1 i=$2 t p of req ls
    t=$(ovsctl "$h" get Interface "$i" type 2>&1)
    p=$(ovsctl "$h" get Interface "$i" options:vhost-server-path 2>&1 | tr -d '"')
    of=$(ovsctl "$h" get Interface "$i" ofport 2>&1)
    req=$(ovsctl "$h" get Interface "$i" ofport_request 2>&1)
    ls=$(ovsctl "$h" get Interface "$i" link_state 2>&1)
    if [ "$t" = dpdkvhostuserclient ] && [ "$p" = "$LAB_RUN/$h/nfv/$i.sock" ] \
       && [ "$of" = "$req" ] && [ "$of" -gt 0 ] 2>/dev/null && [ "$ls" = up ]; then
        echo "ok ofport $of"
    else
        echo "type '$t', path '$p', ofport '$of' (requested '$req'), link '$ls'"
    fi
}
for hi in hv2:fwl-fw1 hv2:fwr-fw1 hv1:lb-lb1; do
    h=${hi%%:*}; i=${hi#*:}
    for _ in $(seq 20); do
        r=$(vport "$h" "$i")
        [[ $r == ok* ]] && break
        sleep 0.5
    done
    [[ $r == ok* ]] && e2e_ok "$h: $i is a connected dpdkvhostuserclient on $LAB_RUN/$h/nfv/$i.sock ($r)" \
        || e2e_fail "$h: $i: $r"
    e2e_check "$h: no veth $i (ports are sockets)" \
        bash -c "! ip netns exec $(lab_host_ns "$h") ip link show $i >/dev/null 2>&1"
done
pgrep -af -- "anet-nfv .*--vhost $LAB_RUN/hv2/nfv/fwl-fw1.sock --vhost $LAB_RUN/hv2/nfv/fwr-fw1.sock" >/dev/null \
    && e2e_ok "fw1 runs with --vhost on its two sockets" || e2e_fail "fw1: $(pgrep -af -- '--name fw1' || echo 'not running')"

# Listeners: db1/db2 answer on 5432 and 5433, app1/app2 on 80, with their
# name.
listen() {   # WORKLOAD PORT
    ip netns exec "$(ns "$1")" busybox nc -ll -p "$2" -e sh -c "echo $1" >/dev/null 2>&1 &
}
for w in db1 db2; do for p in 5432 5433; do listen $w $p; done; done
for w in app1 app2; do listen $w 80; done
sleep 0.5
ip_of() { e2e_port_ip "$1"; }
db1=$(ip_of db1); db2=$(ip_of db2)
vip=10.2.0.100
# banner WORKLOAD IP PORT: the first line the server sends (empty: none).
banner() {
    timeout 3 ip netns exec "$(ns "$1")" bash -c 'exec 3<>"/dev/tcp/$1/$2" && head -n1 <&3' _ "$2" "$3" 2>/dev/null || true
}

e2e_say "firewall fw1 (hv2) between app and db over vhost-user"
ok=""
for _ in $(seq 10); do     # the instance may still be getting its policy
    ok=$(banner app1 "$db1" 5432)
    [ "$ok" = db1 ] && break
    sleep 0.5
done
e2e_eq "app1 (hv2) -> db1:5432 (hv3) through the firewall" db1 "$ok"
e2e_eq "app2 (hv3) -> db2:5432 (hv1), steered to hv2 and on" db2 "$(banner app2 "$db2" 5432)"
e2e_eq "app2 -> db2:5433 dropped (default deny)" "" "$(banner app2 "$db2" 5433)"
e2e_eq "app1 -> db1:5433 dropped (default deny)" "" "$(banner app1 "$db1" 5433)"

e2e_say "load balancer lb1 ($vip:80 -> app1, app2) over vhost-user"
out=$(ip netns exec "$(ns web1)" python3 - "$vip" <<'EOF'
import socket, sys, collections
seen = collections.Counter()
for i in range(20):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.bind(("", 21000 + i))
        s.connect((sys.argv[1], 80))
        seen[s.makefile().readline().strip() or "none"] += 1
    except OSError:
        seen["error"] += 1
    s.close()
print(" ".join(f"{k} {seen[k]}" for k in sorted(seen)))
EOF
)
e2e_say "20 connections: $out"
n1=$(awk '{for (i = 1; i < NF; i += 2) if ($i == "app1") print $(i + 1)}' <<<"$out")
n2=$(awk '{for (i = 1; i < NF; i += 2) if ($i == "app2") print $(i + 1)}' <<<"$out")
e2e_eq "every connection reached a backend" 20 $(( ${n1:-0} + ${n2:-0} ))
[ "${n1:-0}" -gt 0 ] && [ "${n2:-0}" -gt 0 ] && e2e_ok "both backends served (app1 $n1, app2 $n2)" \
    || e2e_fail "backends: $out"

e2e_say "hugepages: socket_mem/2 per host plus 64 per NFV instance"
e2e_eq "hv1 (lb1): 128 + 64" 192 "$(cat "$LAB_RUN/hugepages/hv1")"
e2e_eq "hv2 (fw1): 128 + 64" 192 "$(cat "$LAB_RUN/hugepages/hv2")"
e2e_eq "hv3 (none): 128" 128 "$(cat "$LAB_RUN/hugepages/hv3")"

e2e_say "anet-lab sync places fw2 on hv3: its hugepages are added"
python3 - "$topo" "$E2E_TMP/fw2.yaml" <<'EOF' || e2e_fail "cannot derive fw2.yaml"
import sys
s = open(sys.argv[1]).read()
fw2 = ("  - name: fw2\n    host: hv3\n    router: r1\n"
       "    between: [web, app]\n    default_action: allow\n")
assert "\nfirewalls:\n" in s
s = s.replace("\nfirewalls:\n", "\nfirewalls:\n" + fw2, 1)
open(sys.argv[2], "w").write(s)
EOF
nr_sync=$(cat "$huge/nr_hugepages")
"$E2E_LAB" sync "$E2E_TMP/fw2.yaml" --name "$LAB" --dpdk >"$E2E_TMP/sync.log" 2>&1 \
    || e2e_fail "anet-lab sync fw2.yaml: $(tail -n 3 "$E2E_TMP/sync.log")"
e2e_eq "hv3 (fw2): 128 + 64" 192 "$(cat "$LAB_RUN/hugepages/hv3")"
e2e_eq "nr_hugepages rose by 64" 64 $(( $(cat "$huge/nr_hugepages") - nr_sync ))
for i in fwl-fw2 fwr-fw2; do
    for _ in $(seq 30); do
        r=$(vport hv3 "$i")
        [[ $r == ok* ]] && break
        sleep 0.5
    done
    [[ $r == ok* ]] && e2e_ok "hv3: $i is a connected dpdkvhostuserclient ($r)" || e2e_fail "hv3: $i: $r"
done
ok=""
for _ in $(seq 10); do
    ok=$(banner web1 "$(ip_of app1)" 80)
    [ "$ok" = app1 ] && break
    sleep 0.5
done
e2e_eq "web1 -> app1:80 through fw2 (default allow)" app1 "$ok"

e2e_say "anet-lab down leaves the machine as it found it"
nfv_pids=$(pgrep -f -- "anet-nfv .*$LAB_RUN/" | tr '\n' ' ')
vs_pids=$(cat "$LAB_RUN"/hv*/ovs-vswitchd.pid 2>/dev/null | tr '\n' ' ')
nr_up=$(cat "$huge/nr_hugepages")
"$E2E_LAB" down --name "$LAB" >/dev/null
nr_down=$(cat "$huge/nr_hugepages")
echo "  nr_hugepages: $nr_before before up, $nr_up before down, $nr_down after down"
e2e_eq "down gave back the lab's 576 hugepages" 576 $((nr_up - nr_down))
left=""
for p in $nfv_pids $vs_pids; do kill -0 "$p" 2>/dev/null && left+=" $p"; done
e2e_eq "no anet-nfv or ovs-vswitchd-dpdk of the lab left" "" "$left"
e2e_eq "no namespace of the lab left" "" "$(ip netns list | awk '{print $1}' | grep "^$LAB_NS-" || true)"
e2e_eq "no DPDK files of the lab left" "" \
    "$(ls -d /var/run/dpdk/anet-hv[123] /dev/hugepages/anet-hv[123]map_* /dev/hugepages/anet-nfv-* 2>/dev/null || true)"
# The instances run --in-memory: DPDK leaves at most an empty run dir.
e2e_eq "no DPDK runtime files of the instances left" "" \
    "$(find /var/run/dpdk/anet-nfv-fw1 /var/run/dpdk/anet-nfv-fw2 /var/run/dpdk/anet-nfv-lb1 -mindepth 1 2>/dev/null || true)"
