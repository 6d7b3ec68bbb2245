#!/bin/bash
# End-to-end (aRouter): three-tier.yaml — switches web, app and db joined by
# one distributed router r1, workloads spread over three hypervisors.
#   - the exact reachability matrix: every pair reachable, through r1,
#   - every router port IP answers a ping from a workload on its switch,
#   - TTL: 63 across r1 (one hop), 64 on one switch; traceroute's first hop
#     is r1 (ICMP time exceeded works),
#   - ICMP host unreachable for an unknown address in a connected subnet,
#     net unreachable for a subnet without a route, both from r1,
#   - routed traffic between two workloads on one host never leaves it (the
#     Geneve port's tx counter in OVS stays flat),
#   - DHCP: `anet-lab sync --dhcp` re-plumbs the DHCP ports with busybox
#     udhcpc; each gets its configured IP, gateway and MTU, reaches its
#     gateway, and the whole matrix holds again,
#   - per-host flow counts (for the README); OVS's own counts equal n_flows.
d=$(dirname "$0")
. "$d/lib.sh"
e2e_init e2e-three-tier
topo=$E2E_TOPO/three-tier.yaml
[ -f "$topo" ] || e2e_abort "missing $topo"
e2e_up "$topo"

e2e_say "the lab's expectation: every pair reachable, cross-switch pairs through one router"
json=$(lab_show_json)
e2e_eq "routers in show JSON" "r1" "$(jq -r '[(.routers // [])[].name] | join(" ")' <<<"$json")"
e2e_eq "r1's switches" "app db web" \
    "$(jq -r '[(.routers // [])[] | select(.name == "r1") | .ports[].switch] | sort | join(" ")' <<<"$json")"
bad=0
n=0
for a in $(e2e_ports); do
    for b in $(e2e_ports); do
        [ "$a" != "$b" ] || continue
        n=$((n + 1))
        want=1
        [ "$(e2e_port_switch "$a")" = "$(e2e_port_switch "$b")" ] && want=0
        got=$(lab_expect_hops "$a" "$b")
        [ "$got" = "$want" ] || { bad=$((bad + 1)); echo "    $a -> $b: expected $want router(s), model says '${got}'"; }
    done
done
[ $n -gt 0 ] && [ $bad = 0 ] && e2e_ok "all $n ordered pairs expected reachable (0 or 1 router)" \
    || e2e_fail "$bad of $n pairs not expected as designed"
e2e_check "ping matrix as expected (every pair reachable)" lab_matrix

e2e_say "router port IPs answer pings"
for sw in web app db; do
    gw=$(e2e_router_ip r1 "$sw")
    [ -n "$gw" ] || { e2e_fail "r1 has no port on $sw in show JSON"; continue; }
    for p in $(e2e_ports); do
        [ "$(e2e_port_switch "$p")" = "$sw" ] || continue
        r=$(e2e_ping_ip "$p" "$gw" 3)
        [ "${r:-0}" -ge 1 ] && e2e_ok "$p -> r1 $gw: $r/3 replies" || e2e_fail "$p -> r1 $gw: no reply"
        e2e_eq "$p: default route via r1" "$gw" \
            "$(ip -n "$(lab_wl_ns "$p")" route show default | awk '{print $3; exit}')"
        break
    done
done

e2e_say "TTL and traceroute"
db1_ip=$(e2e_port_ip db1)
web_gw=$(e2e_router_ip r1 web)
e2e_eq "ping web1 -> db1 ($db1_ip): ttl (one router hop)" 63 "$(e2e_ping_ttl web1 "$db1_ip")"
e2e_eq "ping web1 -> web2: ttl (same switch)" 64 "$(e2e_ping_ttl web1 "$(e2e_port_ip web2)")"
e2e_eq "ping app1 -> db2: ttl (one router hop)" 63 "$(e2e_ping_ttl app1 "$(e2e_port_ip db2)")"
hops=$(e2e_traceroute web1 "$db1_ip" | tr '\n' ' ')
echo "  traceroute -n web1 -> $db1_ip: $hops"
e2e_eq "traceroute web1 -> db1: hops" "$web_gw $db1_ip " "$hops"

e2e_say "ICMP errors from r1"
r1_ips=" $(jq -r '(.routers // [])[] | select(.name == "r1") | .ports[].ip | split("/")[0]' <<<"$json" | tr '\n' ' ')"
errs=$(e2e_icmp_errors web1 10.3.0.99)
echo "  web1 -> 10.3.0.99 (no such workload on db): ${errs:-no ICMP error}"
src=$(awk '$2 == "host-unreachable" { print $1; exit }' <<<"$errs")
[ -n "$src" ] && [[ $r1_ips == *" $src "* ]] \
    && e2e_ok "host unreachable from r1 ($src)" || e2e_fail "no host unreachable from r1 (r1:$r1_ips)"
errs=$(e2e_icmp_errors web1 10.77.0.1)
echo "  web1 -> 10.77.0.1 (no route): ${errs:-no ICMP error}"
src=$(awk '$2 == "net-unreachable" { print $1; exit }' <<<"$errs")
[ -n "$src" ] && [[ $r1_ips == *" $src "* ]] \
    && e2e_ok "net unreachable from r1 ($src)" || e2e_fail "no net unreachable from r1 (r1:$r1_ips)"

e2e_say "routed traffic on one host stays on it (Geneve port tx counter)"
a=web1
b=db2
h=$(e2e_port_host "$a")
[ "$(e2e_port_host "$b")" = "$h" ] || e2e_abort "test bug: $a and $b are not on one host"
[ "$(e2e_port_switch "$a")" != "$(e2e_port_switch "$b")" ] || e2e_abort "test bug: $a and $b on one switch"
# The oracle moves at all: a routed ping to another host goes out the tunnel.
far=
for p in $(e2e_ports); do
    [ "$(e2e_port_host "$p")" != "$h" ] && { far=$p; break; }
done
[ -n "$far" ] || e2e_abort "test bug: every workload is on $h"
e2e_ping_ip "$a" "$(e2e_port_ip "$b")" 3 >/dev/null   # neighbours resolved
sleep 0.5
t0=$(e2e_tunnel_tx "$h")
r=$(e2e_ping_ip "$a" "$(e2e_port_ip "$far")" 10)
t1=$(e2e_tunnel_tx "$h")
echo "  $a -> $far ($(e2e_port_host "$far")): ${r:-0}/10 replies, $h tunnel tx $t0 -> $t1"
[ -n "$t0" ] && [ -n "$t1" ] && [ $((t1 - t0)) -ge 10 ] \
    && e2e_ok "oracle: $h's tunnel tx counts routed traffic to another host" \
    || e2e_fail "oracle: $h's tunnel tx did not count 10 pings to $far ($t0 -> $t1)"
sleep 0.5
t0=$(e2e_tunnel_tx "$h")
out=$(ip netns exec "$(lab_wl_ns "$a")" ping -n -q -c 50 -i 0.01 -W 1 "$(e2e_port_ip "$b")" 2>&1 || true)
t1=$(e2e_tunnel_tx "$h")
r=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out")
echo "  $a -> $b (both on $h, $(e2e_port_switch "$a") -> $(e2e_port_switch "$b")): ${r:-0}/50 replies, tunnel tx $t0 -> $t1"
e2e_eq "50 routed pings on $h answered" 50 "${r:-0}"
if [ -z "$t0" ] || [ -z "$t1" ]; then
    e2e_fail "cannot read $h's tunnel port counters"
elif [ "${r:-0}" = 50 ]; then
    e2e_eq "$h tunnel tx packets during them" 0 "$((t1 - t0))"
else
    e2e_fail "tunnel counter not judged: the routed pings were not answered"
fi

e2e_say "DHCP: anet-lab sync --dhcp (DHCP ports re-plumbed, addresses from udhcpc)"
if "$E2E_LAB" sync --dhcp "$topo" --name "$LAB"; then
    e2e_ok "sync --dhcp: every DHCP lease as configured (IP, gateway, MTU)"
else
    e2e_fail "anet-lab sync --dhcp"
fi
ndhcp=0
for p in $(e2e_ports); do
    IFS='|' read -r _ _ _ ip mtu sw mode gw <"$LAB_RUN/ports/$p"
    [ "$mode" = dhcp ] || continue
    ndhcp=$((ndhcp + 1))
    wns=$(lab_wl_ns "$p")
    IFS='|' read -r lip lgw lmtu ldns _ <<<"$(lab_dhcp_lease "$p")"
    echo "  $p: lease ${lip:-none} gateway ${lgw:-none} mtu ${lmtu:-none} dns ${ldns:-none}"
    # three-tier.yaml gives the web switch one DNS server, the others none.
    [ "$sw" = web ] && e2e_eq "$p: DNS option in the lease" "10.1.0.53" "$ldns"
    e2e_eq "$p: address on eth0 (ip addr)" "$ip" \
        "$(ip -n "$wns" -4 -o addr show dev eth0 | awk '{print $4; exit}')"
    e2e_eq "$p: default route (from the lease)" "$(e2e_router_ip r1 "$sw")" \
        "$(ip -n "$wns" route show default | awk '{print $3; exit}')"
    e2e_eq "$p: MTU option in the lease" "$mtu" "$lmtu"
    r=$(e2e_ping_ip "$p" "$lgw" 3)
    [ "${r:-0}" -ge 1 ] && e2e_ok "$p -> gateway $lgw: $r/3 replies" || e2e_fail "$p -> gateway $lgw: no reply"
done
[ $ndhcp -ge 1 ] && e2e_ok "$ndhcp port(s) took their address by DHCP" \
    || e2e_fail "no port in DHCP mode (show JSON has no \"dhcp\": true port)"
e2e_check "ping matrix as expected with DHCP addresses" lab_matrix

e2e_say "flow counts per host (README)"
lab_flow_counts | sed 's/^/    /'
json=$(lab_show_json)
for h in $(e2e_hosts); do
    want=$(jq -r --arg h "$h" '.hosts[] | select(.name == $h) | .n_flows' <<<"$json")
    e2e_eq "$h: ovs-ofctl dump-flows count equals n_flows" "$want" "$(e2e_ofdump "$h" | wc -l)"
done
