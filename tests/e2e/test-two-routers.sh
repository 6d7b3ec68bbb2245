#!/bin/bash
# End-to-end (aRouter): two-routers.yaml — r1 (web) and r2 (db) linked
# through the transit switch 192.168.100.0/24 with static routes each way.
#   - the exact reachability matrix: web <-> db through two routers,
#   - TTL 62 across both routers (one decrement per hop),
#   - traceroute shows r1's web address, then r2's transit address.
d=$(dirname "$0")
. "$d/lib.sh"
e2e_init e2e-two-routers
topo=$E2E_TOPO/two-routers.yaml
[ -f "$topo" ] || e2e_abort "missing $topo"
e2e_up "$topo"

e2e_say "the lab's expectation: web <-> db through two routers"
json=$(lab_show_json)
e2e_eq "routers in show JSON" "r1 r2" "$(jq -r '[(.routers // [])[].name] | sort | join(" ")' <<<"$json")"
e2e_eq "static routes in show JSON" 2 "$(jq -r '[(.routers // [])[].routes[]?] | length' <<<"$json")"
bad=0
n=0
for a in $(e2e_ports); do
    for b in $(e2e_ports); do
        [ "$a" != "$b" ] || continue
        n=$((n + 1))
        want=2
        [ "$(e2e_port_switch "$a")" = "$(e2e_port_switch "$b")" ] && want=0
        got=$(lab_expect_hops "$a" "$b")
        [ "$got" = "$want" ] || { bad=$((bad + 1)); echo "    $a -> $b: expected $want router(s), model says '${got}'"; }
    done
done
[ $n -gt 0 ] && [ $bad = 0 ] && e2e_ok "all $n ordered pairs expected reachable (0 or 2 routers)" \
    || e2e_fail "$bad of $n pairs not expected as designed"
e2e_check "ping matrix as expected (web <-> db routed)" lab_matrix

e2e_say "TTL and traceroute across two routers"
r1_web=$(e2e_router_ip r1 web)
r2_transit=$(e2e_router_ip r2 transit)
e2e_eq "r1's address on web" 10.1.0.1 "$r1_web"
e2e_eq "r2's address on transit" 192.168.100.2 "$r2_transit"
for pr in "web1 db1" "web2 db2" "db1 web1"; do
    read -r a b <<<"$pr"
    e2e_eq "ping $a -> $b: ttl (two router hops)" 62 "$(e2e_ping_ttl "$a" "$(e2e_port_ip "$b")")"
done
e2e_eq "ping web1 -> web2: ttl (same switch)" 64 "$(e2e_ping_ttl web1 "$(e2e_port_ip web2)")"
dst=$(e2e_port_ip db1)
hops=$(e2e_traceroute web1 "$dst" | tr '\n' ' ')
echo "  traceroute -n web1 -> $dst: $hops"
e2e_eq "traceroute web1 -> db1: hops" "$r1_web $r2_transit $dst " "$hops"
dst=$(e2e_port_ip web1)
hops=$(e2e_traceroute db2 "$dst" | tr '\n' ' ')
echo "  traceroute -n db2 -> $dst: $hops"
e2e_eq "traceroute db2 -> web1: hops" "$(e2e_router_ip r2 db) $(e2e_router_ip r1 transit) $dst " "$hops"

e2e_say "gateways answer"
for p in web1 db1; do
    gw=$(ip -n "$(lab_wl_ns "$p")" route show default | awk '{print $3; exit}')
    r=$(e2e_ping_ip "$p" "$gw" 3)
    [ -n "$gw" ] && [ "${r:-0}" -ge 1 ] && e2e_ok "$p -> gateway $gw: $r/3 replies" \
        || e2e_fail "$p -> gateway '${gw}': no reply"
done
