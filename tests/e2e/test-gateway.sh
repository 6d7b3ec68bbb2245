#!/bin/bash
# End-to-end (aRouter, milestone 2): three-tier-gateway.yaml — three-tier.yaml
# plus the external network "internet" (203.0.113.0/24, provider router
# 203.0.113.1 / 0a:00:00:00:00:fe, gateway host hv1, iface ext0) and r1's
# gateway 203.0.113.10 with snat [web, app, db], floating IP 203.0.113.20 ->
# web1 and port forward tcp 8080 -> app1:80.  The lab plays the provider
# router as the outside namespace anet-LAB-x-internet (eth0 = 203.0.113.1).
#   - the lab: the outside namespace, its address/MAC, no route inward, ext0
#     in hv1 attached to br-int by the agent (ovs-vsctl as the oracle),
#   - (1) SNAT: db1 (hv3, no floating IP: its traffic tunnels to hv1) pings
#     the outside and opens a TCP connection to it; the outside sees
#     203.0.113.10 as the source (tcpdump), the payload arrives,
#   - (2) the outside cannot open connections inward: to 203.0.113.10:22,
#     and (with a route 10.0.0.0/8 via 203.0.113.10 added for the check) to
#     db1's and app1's internal addresses, listeners there see nothing,
#   - (3) floating IP: the outside reaches web1 through 203.0.113.20 (ping,
#     TCP; web1 sees the outside's own address), and web1's own traffic
#     leaves as 203.0.113.20,
#   - (4) port forward: outside -> 203.0.113.10:8080 reaches a listener on
#     app1:80 (payload arrives; the source is the outside's address),
#   - (5) the east-west matrix is unchanged (every pair, through r1), and
#     the lab's outside matrix (every workload NATed) holds.
d=$(dirname "$0")
. "$d/lib.sh"
e2e_init e2e-gateway
topo=$E2E_TOPO/three-tier-gateway.yaml
[ -f "$topo" ] || e2e_abort "missing $topo"
X=internet
OUT_IP=203.0.113.1
OUT_MAC=0a:00:00:00:00:fe
GW_IP=203.0.113.10
FIP=203.0.113.20
e2e_up "$topo"

json=$(lab_show_json)
xns=$(lab_ext_ns "$X")
T=$E2E_TMP

e2e_say "the controller's model and the lab's outside namespace"
e2e_eq "external network in show JSON" "$X 203.0.113.0/24 $OUT_IP hv1 ext0" \
    "$(jq -r '(.external_networks // [])[] | select(.name == "internet")
              | "\(.name) \(.cidr) \(.gateway_ip) \(.host) \(.iface)"' <<<"$json")"
e2e_eq "r1's gateway in show JSON" "$X $GW_IP" \
    "$(jq -r '(.routers // [])[] | select(.name == "r1") | .gateway // {} | "\(.network) \(.ip)"' <<<"$json")"
e2e_eq "r1's floating IPs" "$FIP:web1" \
    "$(jq -r '[(.routers // [])[] | select(.name == "r1") | (.floating_ips // [])[] | "\(.ip):\(.port)"] | join(" ")' <<<"$json")"
e2e_eq "r1's port forwards" "tcp:8080:app1:80" \
    "$(jq -r '[(.routers // [])[] | select(.name == "r1") | (.port_forwards // [])[] | "\(.protocol):\(.port):\(.to):\(.to_port)"] | join(" ")' <<<"$json")"
[ -f "$LAB_RUN/externals/$X" ] || e2e_abort "the lab plumbed no outside namespace for $X"
e2e_eq "outside eth0 address" "$OUT_IP/24" \
    "$(ip -n "$xns" -4 -o addr show dev eth0 | awk '{print $4; exit}')"
e2e_eq "outside eth0 MAC" "$OUT_MAC" "$(ip -n "$xns" -o link show dev eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p')"
e2e_eq "outside: route to $GW_IP is on-link" "dev eth0" \
    "$(ip -n "$xns" route get "$GW_IP" | sed -n 's/.* \(dev eth0\).*/\1/p' | head -n1)"
if ip -n "$xns" route get 10.3.0.11 >/dev/null 2>&1; then
    e2e_fail "outside has a route to 10.3.0.11 (it must only reach the inside through NAT)"
else
    e2e_ok "outside has no route to the internal networks"
fi
e2e_check "ext0 in hv1's namespace, up" \
    bash -c "ip -n '$(lab_host_ns hv1)' -o link show dev ext0 | grep -q 'state UP'"
dd=$LAB_RUN/hv1
ports=$(env OVS_RUNDIR="$dd" OVS_LOGDIR="$dd" OVS_DBDIR="$dd" OVS_SYSCONFDIR="$dd" \
        ovs-vsctl --db="unix:$dd/db.sock" list-ports br-int 2>/dev/null | tr '\n' ' ')
[[ " $ports" == *" ext0 "* ]] && e2e_ok "the agent attached ext0 to hv1's br-int" \
    || e2e_fail "ext0 not on hv1's br-int (ports: $ports)"
e2e_check "anet-lab exec x-$X reaches the outside namespace" \
    bash -c "'$E2E_LAB' exec --name '$LAB' x-$X ip -4 -o addr show dev eth0 | grep -q '$OUT_IP/'"

# (5) first: everything else assumes the plain routed network works.
e2e_say "(5) east-west unchanged, and the outside matrix"
e2e_check "east-west ping matrix as expected (every pair, through r1)" lab_matrix_east_west
e2e_eq "the lab expects every workload to reach the outside" \
    "app1 app2 db1 db2 web1 web2" "$(lab_expect_outside | awk '$2 == "internet" { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')"
e2e_check "outside matrix as expected" lab_matrix_outside

# (1) SNAT from a workload without floating IP, on a host other than the
# gateway host.
e2e_say "(1) SNAT: db1 (no floating IP, on $(e2e_port_host db1)) -> outside"
[ "$(e2e_port_host db1)" != hv1 ] || e2e_abort "test bug: db1 is on the gateway host"
e2e_capture "$xns" "icmp[icmptype] = icmp-echo" "$T/cap-db1-icmp" 15 || true
r=0
for i in 1 2 3; do
    r=$(e2e_ns_ping "$(lab_wl_ns db1)" "$OUT_IP" 3)
    [ "${r:-0}" -ge 1 ] && break
done
[ "${r:-0}" -ge 1 ] && e2e_ok "db1 -> $OUT_IP: $r/3 replies" || e2e_fail "db1 -> $OUT_IP: no reply"
e2e_eq "the outside sees db1's ping from r1's gateway IP" "$GW_IP" "$(e2e_capture_wait "$T/cap-db1-icmp")"
e2e_listen "$xns" 9000 "$T/out-9000" 20 || true
e2e_capture "$xns" "tcp[tcpflags] & tcp-syn != 0 and dst port 9000" "$T/cap-db1-tcp" 15 || true
if e2e_retry 3 e2e_tcp_send "$(lab_wl_ns db1)" "$OUT_IP" 9000 "snat-from-db1"; then
    e2e_ok "db1 -> $OUT_IP:9000: TCP connection established"
else
    e2e_fail "db1 -> $OUT_IP:9000: no TCP connection"
fi
e2e_check "the outside's listener received db1's payload" e2e_got "$T/out-9000" "snat-from-db1"
e2e_eq "the outside sees db1's TCP SYN from r1's gateway IP" "$GW_IP" "$(e2e_capture_wait "$T/cap-db1-tcp")"

# (2) Nothing opens inward but through a floating IP or a port forward.
e2e_say "(2) the outside cannot open connections inward"
if e2e_tcp_connects "$xns" "$GW_IP" 22 3; then
    e2e_fail "outside -> $GW_IP:22 connected"
else
    e2e_ok "outside -> $GW_IP:22: no connection"
fi
if e2e_tcp_connects "$xns" "$GW_IP" 8081 3; then
    e2e_fail "outside -> $GW_IP:8081 (not forwarded) connected"
else
    e2e_ok "outside -> $GW_IP:8081 (not forwarded): no connection"
fi
ip -n "$xns" route add 10.0.0.0/8 via "$GW_IP" dev eth0
for t in db1:22 app1:80; do
    p=${t%:*}
    port=${t#*:}
    pip=$(e2e_port_ip "$p")
    e2e_listen "$(lab_wl_ns "$p")" "$port" "$T/in-$p" 15 || true
    e2e_capture "$(lab_wl_ns "$p")" "tcp dst port $port and src host $OUT_IP" "$T/cap-in-$p" 8 || true
    if e2e_tcp_send "$xns" "$pip" "$port" "inward-to-$p" 3; then
        e2e_fail "outside -> $p's internal $pip:$port (route via $GW_IP) connected"
    else
        e2e_ok "outside -> $p's internal $pip:$port (route via $GW_IP): no connection"
    fi
    src=$(e2e_capture_wait "$T/cap-in-$p" 1)
    [ -z "$src" ] && e2e_ok "$p saw no packet from the outside" \
        || e2e_fail "$p received the outside's SYN ($(head -n1 "$T/cap-in-$p"))"
    e2e_got "$T/in-$p" "inward-to-$p" 1 && e2e_fail "$p's listener received the outside's payload" \
        || e2e_ok "$p's listener received nothing"
    # The listener must not answer the port forward check below.
    ip netns exec "$(lab_wl_ns "$p")" ss -Hltnp "sport = :$port" 2>/dev/null \
        | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | while read -r pid; do kill "$pid" 2>/dev/null || true; done
done
ip -n "$xns" route del 10.0.0.0/8 via "$GW_IP" dev eth0

# (3) Floating IP, both directions.
e2e_say "(3) floating IP $FIP <-> web1 ($(e2e_port_ip web1), on $(e2e_port_host web1))"
web1_ns=$(lab_wl_ns web1)
e2e_capture "$web1_ns" "icmp[icmptype] = icmp-echo" "$T/cap-fip-in" 15 || true
r=0
for i in 1 2 3; do
    r=$(e2e_ns_ping "$xns" "$FIP" 3)
    [ "${r:-0}" -ge 1 ] && break
done
[ "${r:-0}" -ge 1 ] && e2e_ok "outside -> $FIP: $r/3 replies" || e2e_fail "outside -> $FIP: no reply"
e2e_eq "web1 sees the outside's ping from the outside's own address" "$OUT_IP" "$(e2e_capture_wait "$T/cap-fip-in")"
e2e_listen "$web1_ns" 8000 "$T/web1-8000" 20 || true
if e2e_retry 3 e2e_tcp_send "$xns" "$FIP" 8000 "fip-to-web1"; then
    e2e_ok "outside -> $FIP:8000: TCP connection established"
else
    e2e_fail "outside -> $FIP:8000: no TCP connection"
fi
e2e_check "web1's listener received the outside's payload" e2e_got "$T/web1-8000" "fip-to-web1"
e2e_capture "$xns" "icmp[icmptype] = icmp-echo" "$T/cap-fip-out" 15 || true
r=$(e2e_ns_ping "$web1_ns" "$OUT_IP" 3)
[ "${r:-0}" -ge 1 ] && e2e_ok "web1 -> $OUT_IP: $r/3 replies" || e2e_fail "web1 -> $OUT_IP: no reply"
e2e_eq "the outside sees web1's ping from its floating IP" "$FIP" "$(e2e_capture_wait "$T/cap-fip-out")"
e2e_listen "$xns" 9001 "$T/out-9001" 20 || true
e2e_capture "$xns" "tcp[tcpflags] & tcp-syn != 0 and dst port 9001" "$T/cap-fip-tcp" 15 || true
if e2e_retry 3 e2e_tcp_send "$web1_ns" "$OUT_IP" 9001 "from-web1"; then
    e2e_ok "web1 -> $OUT_IP:9001: TCP connection established"
else
    e2e_fail "web1 -> $OUT_IP:9001: no TCP connection"
fi
e2e_check "the outside's listener received web1's payload" e2e_got "$T/out-9001" "from-web1"
e2e_eq "the outside sees web1's TCP SYN from its floating IP" "$FIP" "$(e2e_capture_wait "$T/cap-fip-tcp")"

# (4) Port forward.
e2e_say "(4) port forward $GW_IP:8080 -> app1:80 ($(e2e_port_ip app1), on $(e2e_port_host app1))"
app1_ns=$(lab_wl_ns app1)
e2e_listen "$app1_ns" 80 "$T/app1-80" 20 || true
e2e_capture "$app1_ns" "tcp[tcpflags] & tcp-syn != 0 and dst port 80" "$T/cap-pf" 15 || true
if e2e_retry 3 e2e_tcp_send "$xns" "$GW_IP" 8080 "forwarded-to-app1"; then
    e2e_ok "outside -> $GW_IP:8080: TCP connection established"
else
    e2e_fail "outside -> $GW_IP:8080: no TCP connection"
fi
e2e_check "app1's listener on port 80 received the payload" e2e_got "$T/app1-80" "forwarded-to-app1"
e2e_eq "app1 sees the forwarded SYN from the outside's own address" "$OUT_IP" "$(e2e_capture_wait "$T/cap-pf")"

e2e_say "east-west still unchanged after the NAT traffic"
e2e_check "east-west ping matrix as expected" lab_matrix_east_west
