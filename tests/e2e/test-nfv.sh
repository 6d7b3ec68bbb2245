#!/bin/bash
# End-to-end (anet-nfv): three-tier-nfv.yaml plus two more app workloads
# (app3 on hv1, app4 on hv2) as the load balancer's four backends:
#   fw1 (vAF on hv2) on router r1 between app and db: tcp 5432 from app to
#   db, icmp echo, ssh rejected, the rest dropped;
#   lb1 (vAD on hv1) at 10.2.0.100 on switch app: tcp 80 -> app1..app4:80.
# Checks:
#   - routed app <-> db traffic goes through the instance, across hosts
#     (app2 on hv3 -> db2 on hv1 by way of hv2): allowed tcp 5432 connects
#     and its replies come back, other ports are dropped, ssh is refused at
#     once (the instance's reset is routed back), db -> app 5432 is dropped
#     (rules have a direction, replies do not need one), the logged ssh
#     rule's reject shows in the instance's log; the instance's
#     ports count the packets (OVS port counters as the oracle) and web <->
#     db traffic does not touch them;
#   - the load balancer spreads 1,000 connections (fixed source ports, so
#     the run is repeatable) over the four backends within +-10% of even;
#   - a backend whose listener dies leaves the pool within 3 health
#     intervals (no new connection reaches it) while an established
#     connection to another backend keeps working, and it comes back once
#     it listens again;
#   - anetctl nfv shows the instance running the wanted policy with the
#     hits of its rules;
#   - the agent restarts a killed instance and traffic passes again; a
#     connection open through it goes on (the new instance picks it up);
#   - fw1 moved to hv4, a host without workloads, filters the same way
#     (hv4 gets r1 and its switches' L2 tables for the instance's sake).
d=$(dirname "$0")
. "$d/lib.sh"
e2e_init e2e-nfv
src=$E2E_TOPO/three-tier-nfv.yaml
[ -f "$src" ] || e2e_abort "missing $src"
topo=$E2E_TMP/three-tier-nfv.yaml
python3 - "$src" "$topo" <<'EOF' || e2e_abort "cannot derive the topology"
import sys
s = open(sys.argv[1]).read()
more = """  - name: app3
    host: hv1
    switch: app
    ip: 10.2.0.13
  - name: app4
    host: hv2
    switch: app
    ip: 10.2.0.14

firewalls:"""
s = s.replace("\nfirewalls:", "\n" + more, 1)
old = "          - {port: app2, to_port: 80}\n"
assert old in s
s = s.replace(old, old + "          - {port: app3, to_port: 80}\n"
                         "          - {port: app4, to_port: 80}\n", 1)
# hv4: a host without workloads, where fw1 moves at the end.
old = "hosts:\n"
assert old in s
s = s.replace(old, old + "  - name: hv4\n    tunnel_ip: 10.200.0.14/24\n", 1)
open(sys.argv[2], "w").write(s)
EOF
e2e_up "$topo"

ns() { lab_wl_ns "$1"; }
ip_of() { lab_show_json | jq -r --arg p "$1" '.hosts[].ports[] | select(.name == $p) | .ip | split("/")[0]'; }
db1=$(ip_of db1); db2=$(ip_of db2); app1=$(ip_of app1); app2=$(ip_of app2)
vip=10.2.0.100

# Listeners: db1/db2 answer on 5432, 5433 and 22; app1..app4 on 80 (and
# app2 on 5432) with their name, then echo what they get.
listen() {   # WORKLOAD PORT
    ip netns exec "$(ns "$1")" busybox nc -ll -p "$2" -e sh -c "echo $1; exec cat" >/dev/null 2>&1 &
    echo $! >"$E2E_TMP/listen-$1-$2.pid"
}
for w in db1 db2; do for p in 5432 5433 22; do listen $w $p; done; done
for w in app1 app2 app3 app4; do listen $w 80; done
listen app2 5432
sleep 0.5

# banner NS IP PORT: the first line the server sends (empty when none).
banner() {
    timeout 3 ip netns exec "$(ns "$1")" bash -c 'exec 3<>"/dev/tcp/$1/$2" && head -n1 <&3' _ "$2" "$3" 2>/dev/null || true
}
# refused NS IP PORT: the connection is refused (RST) within a second.
refused() {
    local t0 t1 out
    t0=$(date +%s%N)
    out=$(timeout 3 ip netns exec "$(ns "$1")" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$2" "$3" 2>&1)
    t1=$(date +%s%N)
    [[ $out == *"refused"* ]] && [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]
}
# fw_rx [HOST]: packets OVS received from the firewall's two ports on HOST
# (default hv2; its OpenFlow port counters).
fw_rx() {
    local h=${1:-hv2} i of sum=0 n
    for i in fwl-fw1 fwr-fw1; do
        of=$(ip netns exec "$(lab_host_ns $h)" ovs-vsctl --db="unix:$LAB_RUN/$h/db.sock" get Interface "$i" ofport)
        n=$(ip netns exec "$(lab_host_ns $h)" ovs-ofctl -O OpenFlow15 dump-ports "unix:$LAB_RUN/$h/br-int.mgmt" "$of" \
            | grep -o "rx pkts=[0-9]*" | head -n1 | cut -d= -f2)
        sum=$((sum + ${n:-0}))
    done
    echo "$sum"
}

e2e_say "firewall fw1 between app and db (instance on hv2)"
e2e_eq "app1 (hv2) -> db1:5432 (hv3) through the firewall" db1 "$(banner app1 "$db1" 5432)"
e2e_eq "app2 (hv3) -> db2:5432 (hv1), steered to hv2 and on" db2 "$(banner app2 "$db2" 5432)"
e2e_eq "app2 -> db2:5433 dropped (default deny)" "" "$(banner app2 "$db2" 5433)"
e2e_check "app1 -> db1:22 refused at once (the instance's reset)" refused app1 "$db1" 22
e2e_eq "db1 -> app2:5432 dropped (the rule is app -> db)" "" "$(banner db1 "$app2" 5432)"
# The ssh rule has log: true: the instance logs the reject (its log is the
# agent's, on hv2).
e2e_check "fw1 logged the ssh reject with its rule" e2e_retry 3 \
    grep -qE "log: reject rules\[2\]: tcp [0-9.]+:[0-9]+ -> $db1:22" "$LAB_RUN/agent-hv2.log"
e2e_eq "app1 -> db2 ping (icmp echo allowed, replies pass)" 3 "$(e2e_ns_ping "$(ns app1)" "$db2" 3)"
rx0=$(fw_rx)
e2e_eq "web1 -> db1:5432 is not steered (not between app and db)" db1 "$(banner web1 "$db1" 5432)"
rx1=$(fw_rx)
e2e_eq "the instance's ports saw nothing of web -> db" "$rx0" "$rx1"
e2e_eq "app2 -> db1:5432 again" db1 "$(banner app2 "$db1" 5432)"
rx2=$(fw_rx)
[ "$rx2" -ge $((rx1 + 4)) ] && e2e_ok "the instance's ports carried app -> db ($((rx2 - rx1)) packets)" \
    || e2e_fail "the instance's ports carried $((rx2 - rx1)) packets of app -> db"

# What anetctl shows of the instance: running the wanted policy, and the
# packets of the rule that allowed app -> db 5432 (the agent asks the
# instance for its counters every 2 s and reports them in heartbeats).
nfv_out=""
for _ in $(seq 20); do
    nfv_out=$("$LAB_BIN/anetctl" --controller "$LAB_URL" nfv 2>&1)
    hits=$(awk '/firewalls.fw1.rules\[0\]/ {print $1}' <<<"$nfv_out")
    [ "${hits:-0}" -ge 3 ] && break
    sleep 0.5
done
grep -q "^vaf fw1 on hv2: running, started 1 time(s), policy .* (applied)" <<<"$nfv_out" \
    && e2e_ok "anetctl nfv: fw1 on hv2 runs the wanted policy" \
    || e2e_fail "anetctl nfv: $nfv_out"
[ "${hits:-0}" -ge 3 ] && e2e_ok "anetctl nfv: rule 0 (tcp 5432 app -> db) counted $hits packets" \
    || e2e_fail "anetctl nfv: rule 0 counted ${hits:-nothing}"

e2e_say "load balancer lb1 ($vip:80 -> app1..app4)"
spread() {   # N FIRST_SOURCE_PORT: "app1 N1 app2 N2 ..." over N connections
    ip netns exec "$(ns web1)" python3 - "$vip" "$1" "$2" <<'EOF'
import socket, sys, collections
vip, n, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = collections.Counter()
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(1)
    try:
        s.bind(("", first + i))
        s.connect((vip, 80))
        seen[s.makefile().readline().strip() or "none"] += 1
    except OSError:
        seen["error"] += 1
    s.close()
print(" ".join(f"{k} {seen[k]}" for k in sorted(seen)))
EOF
}
out=$(spread 1000 20000)
e2e_say "1000 connections: $out"
for w in app1 app2 app3 app4; do
    c=$(awk -v w=$w '{for (i = 1; i < NF; i += 2) if ($i == w) print $(i + 1)}' <<<"$out")
    c=${c:-0}
    [ "$c" -ge 225 ] && [ "$c" -le 275 ] && e2e_ok "$w got $c of 1000 (250 +- 10%)" \
        || e2e_fail "$w got $c of 1000 (expected 225..275)"
done

# An established connection to a backend other than app3, kept open.
fifo=$E2E_TMP/keep
mkfifo "$fifo.in"
( for i in $(seq 40); do echo "tick $i"; sleep 0.5; done ) >"$fifo.in" &
# The client echoes a line a second through the connection (its program
# comes with -c: stdin is the fifo of ticks).
keep_prog='
import socket, sys
s = socket.socket()
s.bind(("", int(sys.argv[2])))
s.connect((sys.argv[1], 80))
f = s.makefile("rw")
print(f.readline().strip(), flush=True)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    f.write(line); f.flush()
    print(f.readline().strip(), flush=True)
'
for port in $(seq 30000 30050); do
    rm -f "$E2E_TMP/keep.out"
    ip netns exec "$(ns web1)" timeout 25 python3 -c "$keep_prog" "$vip" "$port" \
        <"$fifo.in" >"$E2E_TMP/keep.out" 2>&1 &
    keep_pid=$!
    sleep 0.5
    first=$(head -n1 "$E2E_TMP/keep.out" 2>/dev/null)
    [ -n "$first" ] && [ "$first" != app3 ] && break
    kill "$keep_pid" 2>/dev/null || true
done
e2e_say "long-lived connection to $first"

e2e_say "health checks: app3's listener dies"
kill "$(cat "$E2E_TMP/listen-app3-80.pid")" 2>/dev/null || true
sleep 3.5
before=$(wc -l <"$E2E_TMP/keep.out")
out=$(spread 200 40000)
e2e_say "200 connections after 3.5 s: $out"
[[ $out != *app3* ]] && e2e_ok "no new connection reached app3 after 3 intervals" \
    || e2e_fail "app3 still got connections: $out"
[[ $out != *error* ]] && e2e_ok "every new connection was served by the others" \
    || e2e_fail "some connections failed: $out"
sleep 1
after=$(wc -l <"$E2E_TMP/keep.out")
[ "$after" -gt "$before" ] && e2e_ok "the established connection to $first kept echoing ($before -> $after lines)" \
    || e2e_fail "the established connection to $first stopped ($before -> $after lines)"
listen app3 80
sleep 3.5
out=$(spread 200 50000)
e2e_say "200 connections after app3 listens again: $out"
[[ $out == *app3* ]] && e2e_ok "app3 is back in the pool" || e2e_fail "app3 did not come back: $out"

e2e_say "the agent restarts a killed instance; open connections survive"
# An open app2 (hv3) -> db2:5432 (hv1) connection through fw1 on hv2 that
# echoes a line every 0.2 s; the restarted instance, whose table is empty,
# picks it up from app2's next segment (its rule allows it).
ip netns exec "$(ns app2)" timeout 30 python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 5432), timeout=15)
f = s.makefile("rw")
print(f.readline().strip(), flush=True)
for i in range(120):
    f.write("tick %d\n" % i); f.flush()
    print(f.readline().strip(), flush=True)
    time.sleep(0.2)
' "$db2" >"$E2E_TMP/through.out" 2>&1 &
through=$!
sleep 1.5
pid=$(pgrep -f -- "--name fw1 .*$LAB_RUN/" | head -n1)
[ -n "$pid" ] || e2e_fail "no fw1 instance"
before=$(grep -c '^tick' "$E2E_TMP/through.out")
kill -KILL "$pid" 2>/dev/null || true
ok=0
for _ in $(seq 30); do
    [ "$(banner app1 "$db1" 5432)" = db1 ] && { ok=1; break; }
    sleep 0.5
done
npid=$(pgrep -f -- "--name fw1 .*$LAB_RUN/" | head -n1)
[ $ok = 1 ] && [ -n "$npid" ] && [ "$npid" != "$pid" ] \
    && e2e_ok "fw1 restarted (pid $pid -> $npid) and app -> db passes again" \
    || e2e_fail "fw1 not back (pid $pid -> ${npid:-none})"
mid=$(grep -c '^tick' "$E2E_TMP/through.out")
after=$mid
for _ in $(seq 40); do     # TCP's retransmission back-off: up to 10 s
    sleep 0.25
    after=$(grep -c '^tick' "$E2E_TMP/through.out")
    [ "$after" -gt $((mid + 5)) ] && break
done
[ "$before" -gt 0 ] && [ "$after" -gt $((mid + 5)) ] && kill -0 "$through" 2>/dev/null \
    && e2e_ok "the open connection went on after the restart ($before, $mid, $after echoed lines)" \
    || e2e_fail "the open connection stopped ($before, $mid, $after echoed lines): $(tail -n2 "$E2E_TMP/through.out")"
kill "$through" 2>/dev/null || true
picked=""
for _ in $(seq 20); do
    picked=$("$LAB_BIN/anetctl" --controller "$LAB_URL" nfv 2>&1 | grep -o "picked up after a restart [0-9]*" || true)
    [ -n "$picked" ] && break
    sleep 0.5
done
[ -n "$picked" ] && e2e_ok "anetctl nfv: $picked" || e2e_fail "anetctl nfv shows no picked-up connection"

e2e_say "fw1 moves to hv4, a host without workloads"
awk '/name: fw1/ {f = 1} f && /^    host: hv2$/ {sub(/hv2/, "hv4"); f = 0} {print}' \
    "$topo" >"$E2E_TMP/fw-hv4.yaml"
[ "$(diff "$topo" "$E2E_TMP/fw-hv4.yaml" | grep -c '^>')" = 1 ] \
    && grep -A1 "name: fw1" "$E2E_TMP/fw-hv4.yaml" | grep -q "host: hv4" \
    || e2e_fail "cannot derive fw-hv4.yaml (only fw1's host changes)"
out=$(lab_ctl apply "$E2E_TMP/fw-hv4.yaml" 2>&1) || e2e_fail "apply with fw1 on hv4: $out"
e2e_wait_synced 30 || e2e_fail "agents not in sync after moving fw1"
ok=0
for _ in $(seq 30); do
    [ "$(banner app2 "$db2" 5432)" = db2 ] && { ok=1; break; }
    sleep 0.5
done
[ $ok = 1 ] && e2e_ok "app2 (hv3) -> db2:5432 (hv1) passes, steered to hv4" \
    || e2e_fail "app2 -> db2:5432 does not pass with fw1 on hv4"
rx0=$(fw_rx hv4)
e2e_eq "app1 (hv2) -> db1:5432 (hv3) through hv4" db1 "$(banner app1 "$db1" 5432)"
e2e_eq "app2 -> db2:5433 still dropped (default deny)" "" "$(banner app2 "$db2" 5433)"
e2e_check "app1 -> db1:22 still refused at once" refused app1 "$db1" 22
rx1=$(fw_rx hv4)
[ "$rx1" -ge $((rx0 + 4)) ] && e2e_ok "the instance's ports on hv4 carried the traffic ($((rx1 - rx0)) packets)" \
    || e2e_fail "the instance's ports on hv4 carried $((rx1 - rx0)) packets"
if pgrep -f -- "--name fw1 .*$LAB_RUN/hv4/" >/dev/null; then e2e_ok "fw1's instance runs on hv4"; else e2e_fail "no fw1 instance on hv4"; fi
if pgrep -f -- "--name fw1 .*$LAB_RUN/hv2/" >/dev/null; then e2e_fail "fw1 still runs on hv2"; else e2e_ok "no fw1 instance left on hv2"; fi
