#!/bin/bash
# End-to-end (aRouter): the provider gateway's MAC learned by ARP.
# three-tier-gateway-arp.yaml is three-tier-gateway.yaml without gateway_mac:
#   - traffic to the outside makes an agent ARP for the provider gateway
#     (203.0.113.1); the reply, seen on the gateway host, is reported to the
#     controller, which shows the learned MAC — exactly the outside
#     namespace's own (kernel-chosen) MAC — and recompiles,
#   - SNAT then works from a workload on another host than the gateway,
#   - the learned MAC survives a controller restart (state dir).
d=$(dirname "$0")
. "$d/lib.sh"
e2e_init e2e-gateway-arp
topo=$E2E_TOPO/three-tier-gateway-arp.yaml
[ -f "$topo" ] || e2e_abort "missing $topo"

e2e_say "anet-lab up $(basename "$topo") (outside MAC left to the kernel)"
# The lab's outside matrix may lose the first pings while the MAC is being
# resolved, so its verdict is not asserted here; what follows is.
"$E2E_LAB" up "$topo" --name "$LAB" --build-dir "$E2E_BIN" >"$E2E_TMP/up.log" 2>&1 || true
grep -q "reachability: 30/30 expected pairs reachable" "$E2E_TMP/up.log" \
    && e2e_ok "east-west matrix (30/30)" \
    || e2e_fail "east-west matrix: $(grep reachability: "$E2E_TMP/up.log" | head -1)"

xns=$(lab_ext_ns internet)
outside_mac=$(ip -n "$xns" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
[ -n "$outside_mac" ] || e2e_abort "no outside namespace"

e2e_say "traffic to the outside triggers the resolution"
db1=$(lab_wl_ns db1)
learned=""
for _ in $(seq 20); do
    ip netns exec "$db1" ping -c 1 -W 1 203.0.113.1 >/dev/null 2>&1 || true
    learned=$(lab_show_json | jq -r '.external_networks[] | select(.name == "internet") | select(.gateway_mac_learned == true) | .gateway_mac')
    [ -n "$learned" ] && break
    sleep 0.5
done
e2e_eq "the controller shows the learned provider MAC" "$outside_mac" "$learned"

e2e_say "SNAT with the learned MAC"
e2e_check "db1 (hv3) -> 203.0.113.1: replies" \
    e2e_retry 5 ip netns exec "$db1" ping -c 2 -W 1 203.0.113.1
e2e_capture "$xns" "icmp[icmptype] = icmp-echo" "$E2E_TMP/cap"
ip netns exec "$db1" ping -c 2 -W 1 203.0.113.1 >/dev/null 2>&1 || true
e2e_eq "the outside sees db1 as the router's gateway IP" "203.0.113.10" \
    "$(e2e_capture_wait "$E2E_TMP/cap")"

e2e_say "the learned MAC survives a controller restart"
lab_stop_controller TERM
lab_start_controller
e2e_wait_synced 30 || e2e_fail "agents not back in sync after the restart"
again=$(lab_show_json | jq -r '.external_networks[] | select(.name == "internet") | .gateway_mac + " " + (.gateway_mac_learned | tostring)')
e2e_eq "after the restart" "$outside_mac true" "$again"
e2e_check "db1 -> 203.0.113.1 after the restart" \
    e2e_retry 5 ip netns exec "$db1" ping -c 2 -W 1 203.0.113.1

