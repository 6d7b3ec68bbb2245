#!/bin/bash
# End-to-end (distributed firewall): three-tier-sg.yaml — the three-tier
# topology with a security group per tier:
#   web: tcp 80 and icmp from anywhere;  app: tcp 8080 and icmp from group
#   web;  db: tcp 5432 from group app, tcp 22 from 10.1.0.0/24 rejected;
#   every group: egress any.
# Checks:
#   - allowed TCP/ICMP pass and their replies come back (the reply of a
#     connection the other side opened is not taken for a new one),
#   - denied ones are dropped (no SYN reaches the listener), rejected ones
#     get a TCP RST at once (refused, not a timeout),
#   - broadcasts are filtered by the receiver's ingress rules: a UDP
#     broadcast on the web network does not reach web2 until a rule allows
#     it, then every datagram does,
#   - policy change under traffic: removing the rule that allowed an open
#     connection keeps that connection working, new ones fail at once,
#   - remote group: a workload added to group web gains access to app; in
#     OVS (ovs-ofctl) the hosts of the ports whose rules name the group
#     gain exactly the allows from its address and nothing else changes,
#   - a rule with 50 cidrs x a port range (21 prefixes) is 72 flows per
#     port in OVS (conjunctions, not 1050) and lets exactly that traffic in,
#   - per-rule hit counters: 5 new connections count exactly 5 on the rule
#     that allowed them (/api/v1/rules), and `anetctl rules` lists it; 5
#     datagrams no group allows count 5 on the port's default deny, shown
#     at the port's YAML line.
#   - logged rules: a dropped and a rejected connection from web1 to db1 show
#     up in /api/v1/acl-log and `anetctl acl-log` with the rule, its YAML
#     line, the port and the addresses; a UDP flood the deny rule logs is
#     rate-limited (about the bucket's burst logged, the rest counted as
#     suppressed).
d=$(dirname "$0")
. "$d/lib.sh"
e2e_init e2e-sg
topo=$E2E_TOPO/three-tier-sg.yaml
[ -f "$topo" ] || e2e_abort "missing $topo"
e2e_up "$topo"

ns() { lab_wl_ns "$1"; }
ip_of() { lab_show_json | jq -r --arg p "$1" '.hosts[].ports[] | select(.name == $p) | .ip | split("/")[0]'; }
web1=$(ip_of web1); app1=$(ip_of app1); db1=$(ip_of db1); db2=$(ip_of db2)

# can NS DST PORT: a TCP connection from NS to DST:PORT completes (2 s).
can() { e2e_tcp_connects "$(ns "$1")" "$2" "$3" 2; }
# refused NS DST PORT: the connection is refused (RST) within a second.
refused() {
    local t0 t1 out
    t0=$(date +%s%N)
    out=$(timeout 3 ip netns exec "$(ns "$1")" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$2" "$3" 2>&1)
    t1=$(date +%s%N)
    [[ $out == *"refused"* ]] && [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]
}

e2e_say "listeners: web1:80, app1:8080, db1:5432, db1:22"
for spec in "web1 80" "app1 8080" "db1 5432" "db1 22"; do
    set -- $spec
    ip netns exec "$(ns "$1")" busybox nc -ll -p "$2" -e /bin/cat >/dev/null 2>&1 &
done
sleep 0.5

e2e_say "ICMP"
e2e_eq "web1 -> app1 (app allows icmp from web)" 3 "$(e2e_ns_ping "$(ns web1)" "$app1" 3)"
e2e_eq "app1 -> web1 (web allows icmp from anywhere)" 3 "$(e2e_ns_ping "$(ns app1)" "$web1" 3)"
e2e_eq "db1 -> app1 (db is not in group web)" 0 "$(e2e_ns_ping "$(ns db1)" "$app1" 2)"
e2e_eq "web1 -> db1 (db allows no icmp)" 0 "$(e2e_ns_ping "$(ns web1)" "$db1" 2)"

e2e_say "TCP"
e2e_check "web1 -> app1:8080 (group web) connects" can web1 "$app1" 8080
e2e_check "app1 -> db1:5432 (group app) connects" can app1 "$db1" 5432
e2e_check "db1 -> web1:80 (anywhere) connects; its replies pass web's ingress back" can db1 "$web1" 80
if can web1 "$db1" 5432; then e2e_fail "web1 -> db1:5432 connected (db allows 5432 from group app only)"; else e2e_ok "web1 -> db1:5432 dropped"; fi
if can db1 "$app1" 8080; then e2e_fail "db1 -> app1:8080 connected"; else e2e_ok "db1 -> app1:8080 dropped"; fi
e2e_check "web1 -> db1:22 rejected at once (TCP RST from 10.1.0.0/24)" refused web1 "$db1" 22
if can app1 "$db1" 22; then e2e_fail "app1 -> db1:22 connected"; else e2e_ok "app1 -> db1:22 dropped (reject applies to 10.1.0.0/24 only)"; fi

e2e_say "broadcasts pass the receiver's ingress rules"
# bcast_rx: web2 counts the UDP datagrams to port 5000 it gets in 3 s while
# web1 sends 20 to the broadcast address (ff:ff:ff:ff:ff:ff).
bcast_rx() {
    local out=$E2E_TMP/bcast.out ready=$E2E_TMP/bcast.ready
    rm -f "$ready"
    ip netns exec "$(ns web2)" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 5000)); s.settimeout(0.2)
open(sys.argv[1], "w").close()
n = 0; end = time.time() + 3
while time.time() < end:
    try:
        s.recv(100); n += 1
    except socket.timeout:
        pass
print(n)' "$ready" >"$out" &
    local rx=$! i
    for i in $(seq 50); do [ -f "$ready" ] && break; sleep 0.1; done
    ip netns exec "$(ns web1)" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
for i in range(20):
    s.sendto(b"hello", ("255.255.255.255", 5000)); time.sleep(0.02)'
    wait "$rx"
    cat "$out"
}
e2e_eq "a UDP broadcast to web2 (group web allows no udp) is dropped" 0 "$(bcast_rx)"
awk '{print} /ping and errors from anywhere/ {print "      - {protocol: udp, ports: 5000, remote_cidrs: [10.1.0.0/24]}"}' \
    "$topo" >"$E2E_TMP/bcast.yaml"
out=$(lab_ctl apply "$E2E_TMP/bcast.yaml" 2>&1) || e2e_fail "apply with udp 5000 allowed: $out"
e2e_wait_synced 20 || e2e_fail "agents not in sync after allowing udp 5000"
e2e_eq "with udp 5000 from 10.1.0.0/24 allowed, web2 gets all 20 broadcasts" 20 "$(bcast_rx)"
out=$(lab_ctl apply "$topo" 2>&1) || e2e_fail "re-apply: $out"
e2e_wait_synced 20 || e2e_fail "agents not in sync after the re-apply"

e2e_say "policy change under traffic"
# A long-lived connection web1 -> app1:8080 that echoes a line a second.
fifo=$E2E_TMP/echo
mkfifo "$fifo.in"
( for i in $(seq 60); do echo "tick $i"; sleep 0.5; done ) >"$fifo.in" &
ip netns exec "$(ns web1)" timeout 40 busybox nc "$app1" 8080 <"$fifo.in" >"$E2E_TMP/echo.out" 2>&1 &
sleep 2
before=$(wc -l <"$E2E_TMP/echo.out")
sed '/protocol: tcp, ports: 8080, remote_group: web/d' "$topo" >"$E2E_TMP/locked.yaml"
out=$(lab_ctl apply "$E2E_TMP/locked.yaml" 2>&1) || e2e_fail "apply without the 8080 rule: $out"
e2e_wait_synced 20 || e2e_fail "agents not in sync after the policy change"
sleep 3
after=$(wc -l <"$E2E_TMP/echo.out")
[ "$before" -gt 0 ] && [ "$after" -gt $((before + 2)) ] \
    && e2e_ok "the open connection kept echoing after the rule was removed ($before -> $after lines)" \
    || e2e_fail "the open connection stopped ($before -> $after lines)"
if can web1 "$app1" 8080; then e2e_fail "a new web1 -> app1:8080 connection still connects"; else e2e_ok "new web1 -> app1:8080 connections are dropped at once"; fi
out=$(lab_ctl apply "$topo" 2>&1) || e2e_fail "re-apply: $out"
e2e_wait_synced 20 || true

e2e_say "remote group: db2 joins group web"
if can db2 "$app1" 8080; then e2e_fail "db2 -> app1:8080 connected before joining web"; else e2e_ok "db2 -> app1:8080 dropped before joining web"; fi
e2e_dump_all "$E2E_TMP/pre-join"
awk '{print} /ip: 10.3.0.12/ {print "    security_groups: [db, web]"}' "$topo" >"$E2E_TMP/join.yaml"
out=$(lab_ctl apply "$E2E_TMP/join.yaml" 2>&1) || e2e_fail "apply with db2 in web: $out"
e2e_wait_synced 20 || e2e_fail "agents not in sync after db2 joined web"
e2e_check "db2 -> app1:8080 connects once db2 is in group web" e2e_retry 3 can db2 "$app1" 8080
# In OVS itself (ovs-ofctl): the hosts of app1 (hv2) and app2 (hv3), whose
# rules name group web, gained exactly the two allows from db2's address
# (tcp 8080 and icmp) and nothing else changed there.
e2e_dump_all "$E2E_TMP/post-join"
for h in hv2 hv3; do
    gained=$(comm -13 "$E2E_TMP/pre-join/$h" "$E2E_TMP/post-join/$h")
    lost=$(comm -23 "$E2E_TMP/pre-join/$h" "$E2E_TMP/post-join/$h")
    e2e_eq "$h: flows removed or changed by the join" 0 "$(grep -c . <<<"$lost")"
    e2e_eq "$h: flows added by the join, all table 61 allows from db2 ($db2)" "2 2" \
        "$(grep -c . <<<"$gained") $(grep 'table=61' <<<"$gained" | grep -cE "nw_src=$db2[, ]")"
done

e2e_say "a rule with 50 cidrs x a port range: conjunctive flows in OVS"
# app's ingress gains tcp 3-60000 (21 bitmask prefixes) from 50 networks,
# db's among them: 50 + 21 clause flows and one conj_id flow per app port,
# not 50 x 21; db1 then reaches app1 in the range and not outside it.
cidrs=$(for i in $(seq 100 148); do printf '10.%d.0.0/16, ' "$i"; done)10.3.0.0/24
awk -v r="      - {protocol: tcp, ports: \"3-60000\", remote_cidrs: [$cidrs]}" \
    '{print} /protocol: icmp, remote_group: web/ {print r}' "$E2E_TMP/join.yaml" >"$E2E_TMP/wide.yaml"
ip netns exec "$(ns app1)" busybox nc -ll -p 60001 -e /bin/cat >/dev/null 2>&1 &
if can db1 "$app1" 8080; then e2e_fail "db1 -> app1:8080 connected before the wide rule"; else e2e_ok "db1 -> app1:8080 dropped before the wide rule"; fi
out=$(lab_ctl apply "$E2E_TMP/wide.yaml" 2>&1) || e2e_fail "apply with the wide rule: $out"
e2e_wait_synced 20 || e2e_fail "agents not in sync after the wide rule"
e2e_dump_all "$E2E_TMP/wide"
gained=$(comm -13 "$E2E_TMP/post-join/hv2" "$E2E_TMP/wide/hv2")
e2e_eq "hv2 (app1): flows added = 50 + 21 + 1, clause flows, conj_id flows" "72 71 1" \
    "$(grep -c . <<<"$gained") $(grep -c 'actions=conjunction(' <<<"$gained") $(grep -c 'conj_id=' <<<"$gained")"
e2e_eq "hv2: no flow removed or changed by the wide rule" 0 \
    "$(comm -23 "$E2E_TMP/post-join/hv2" "$E2E_TMP/wide/hv2" | grep -c .)"
e2e_check "db1 -> app1:8080 connects (10.3.0.0/24 x 3-60000)" e2e_retry 3 can db1 "$app1" 8080
if can db1 "$app1" 60001; then e2e_fail "db1 -> app1:60001 connected (outside 3-60000)"; else e2e_ok "db1 -> app1:60001 dropped (outside the range)"; fi
out=$(lab_ctl apply "$E2E_TMP/join.yaml" 2>&1) || e2e_fail "re-apply join.yaml: $out"
e2e_wait_synced 20 || e2e_fail "agents not in sync after dropping the wide rule"

e2e_say "per-rule hit counters"
rule_hits() {   # OBJECT: packets counted for that rule over all hosts
    curl -s "$LAB_URL/api/v1/rules" | jq -r --arg o "$1" '[.[] | select(.object == $o) | .packets] | add // 0'
}
# hits_after OBJECT BEFORE N: OBJECT's packets once they reached BEFORE + N
# (or 10 s passed), read again after one more heartbeat so that a late
# report is not missed.
hits_after() {
    local h
    for _ in $(seq 20); do
        h=$(rule_hits "$1")
        [ "$h" -ge $(($2 + $3)) ] && break
        sleep 0.5
    done
    sleep 3
    rule_hits "$1"
}
obj="security_groups.app.ingress[0]"
sleep 5
h0=$(rule_hits "$obj")
for i in 1 2 3 4 5; do can web1 "$app1" 8080 || e2e_fail "connection $i web1 -> app1:8080"; done
h1=$(hits_after "$obj" "$h0" 5)
e2e_eq "$obj counted the 5 new connections (SYNs)" 5 "$((h1 - h0))"
e2e_check "anetctl rules lists the rule" \
    bash -c "'$LAB_BIN/anetctl' --controller '$LAB_URL' rules | grep -qF 'security_groups.app.ingress[0]'"
# What no group allows is counted at the port: 5 UDP datagrams db1 -> app1
# (group app allows no udp) show as app1's ingress default deny.
deny_obj="ports.app1.default_deny.ingress"
d0=$(rule_hits "$deny_obj")
ip netns exec "$(ns db1)" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"x", (sys.argv[1], 9))' "$app1" || e2e_fail "UDP to app1"
d1=$(hits_after "$deny_obj" "$d0" 5)
e2e_eq "$deny_obj counted the 5 datagrams no group allowed" 5 "$((d1 - d0))"
app1_line=$(grep -n 'name: app1' "$E2E_TMP/join.yaml" | cut -d: -f1)
e2e_check "anetctl rules shows app1's default deny at app1's line" \
    bash -c "'$LAB_BIN/anetctl' --controller '$LAB_URL' rules | grep -qE '$deny_obj +join.yaml:$app1_line( |\$)'"

e2e_say "logged rules (deny and reject with log: true)"
# Back to the example itself (db2's join moved its lines by one).
out=$(lab_ctl apply "$topo" 2>&1) || e2e_fail "re-apply: $out"
e2e_wait_synced 20 || e2e_fail "agents not in sync after the re-apply"
acl_log() { curl -s "$LAB_URL/api/v1/acl-log?since=${1:-0}"; }
next0=$(acl_log | jq -r .next)
deny_line=$(grep -n 'action: deny, log: true' "$topo" | cut -d: -f1)
rej_line=$(grep -n 'action: reject, log: true' "$topo" | cut -d: -f1)
can web1 "$db1" 5432 && e2e_fail "web1 -> db1:5432 connected"
refused web1 "$db1" 22 || e2e_fail "web1 -> db1:22 not refused"
# logged EVENTS-JQ-FILTER: the first logged event since next0 it selects.
logged() {
    local j
    for _ in $(seq 20); do
        j=$(acl_log "$next0" | jq -c ".events[] | select($1)" | head -n1)
        [ -n "$j" ] && { echo "$j"; return 0; }
        sleep 0.5
    done
    return 1
}
ev=$(logged '.dst_port == 5432 and .src == "'"$web1"'"') \
    || e2e_fail "the dropped web1 -> db1:5432 SYN was not logged"
e2e_eq "dropped SYN: rule" "security_groups.db.ingress[2] deny ingress db1 hv3 tcp $web1 $db1 line $deny_line" \
    "$(jq -r '"\(.object) \(.action) \(.direction) \(.port) \(.host) \(.protocol) \(.src) \(.dst) line \(.line)"' <<<"$ev")"
ev=$(logged '.dst_port == 22 and .src == "'"$web1"'"') \
    || e2e_fail "the rejected web1 -> db1:22 SYN was not logged"
e2e_eq "rejected SYN: rule" "security_groups.db.ingress[0] reject db1 line $rej_line" \
    "$(jq -r '"\(.object) \(.action) \(.port) line \(.line)"' <<<"$ev")"
e2e_check "anetctl acl-log shows the drop with its YAML line" \
    bash -c "'$LAB_BIN/anetctl' --controller '$LAB_URL' acl-log | grep -E 'hv3 +deny +ingress db1 .* -> $db1:5432 .*security_groups.db.ingress\\[2\\] \\(.*three-tier-sg.yaml:$deny_line:'"
# A flood the deny rule logs: 2000 UDP datagrams in a few milliseconds.
# The agent's LOG bucket (100/s, burst 200) lets about 200 through and
# counts the rest it sees as suppressed (OVS may drop a few packet-ins of
# such a burst before the agent sees them).
next0=$(acl_log | jq -r .next)
sup0=$(acl_log | jq -r .suppressed)
ip netns exec "$(ns web1)" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2000):
    s.sendto(b"x" * 32, (sys.argv[1], 9999))' "$db1" || e2e_fail "UDP flood"
sleep 5
n_udp=$(acl_log "$next0" | jq '[.events[] | select(.protocol == "udp" and .dst_port == 9999)] | length')
sup1=$(acl_log | jq -r .suppressed)
e2e_say "UDP flood: $n_udp logged, $((sup1 - sup0)) suppressed"
[ "$n_udp" -ge 100 ] && [ "$n_udp" -le 400 ] \
    && e2e_ok "the flood was logged at the rate limit ($n_udp of 2000)" \
    || e2e_fail "flood: $n_udp of 2000 datagrams logged (expected 100..400)"
[ $((sup1 - sup0)) -ge 100 ] \
    && e2e_ok "the rest was counted as suppressed ($((sup1 - sup0)))" \
    || e2e_fail "suppressed went from $sup0 to $sup1 only"
