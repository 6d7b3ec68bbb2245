#!/bin/bash
# End-to-end: L2 switching over Geneve between two hypervisors.
#   - the exact ping matrix (same switch reachable, across switches not),
#   - a 20 MB TCP transfer across the tunnel, byte-exact (sha256),
#   - `anetctl flows HOST` names the topology file and line of each flow,
#   - OVS's own flow count per host equals the controller's n_flows.
. "$(dirname "$0")/lib.sh"
e2e_init e2e-l2
topo=$E2E_TOPO/two-switches.yaml
e2e_up "$topo"

e2e_say "ping matrix (again, after the lab settled)"
e2e_check "every same-switch pair reachable, no cross-switch pair" lab_matrix

e2e_say "TCP transfer across the tunnel"
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
t0=$(date +%s%N)
ip netns exec "$(lab_wl_ns "$a")" timeout 60 nc -N "$(e2e_port_ip "$b")" 5001 \
    <"$E2E_TMP/send" 2>"$E2E_TMP/nc.err" || true
wait "$listener" || true
t1=$(date +%s%N)
sent=$(sha256sum <"$E2E_TMP/send" | cut -d' ' -f1)
got=$(sha256sum <"$E2E_TMP/recv" | cut -d' ' -f1)
echo "  received $(stat -c %s "$E2E_TMP/recv") bytes in $(( (t1 - t0) / 1000000 )) ms"
e2e_eq "sha256 of 20 MB received equals sent" "$sent" "$got"

e2e_say "provenance: anetctl flows names $(basename "$topo"):LINE"
json=$(lab_show_json)
for h in $(e2e_hosts); do
    out=$(lab_ctl flows "$h" 2>&1) || { e2e_fail "anetctl flows $h failed: $out"; continue; }
    nfile=$(grep -c "<- .*($(basename "$topo"):[1-9][0-9]*:[1-9][0-9]*)" <<<"$out" || true)
    # One table-miss default per pipeline table: 0, 10, 20, 21, 30, 60, 61, 70.
    nbuiltin=$(grep -c "<- pipeline\.table[0-9]* (built-in pipeline)" <<<"$out" || true)
    nflows=$(grep -cE '^(n_packets=[0-9]+ n_bytes=[0-9]+, )?table=[0-9]+ ' <<<"$out" || true)
    echo "  $h: $nflows flows, $nfile from $(basename "$topo") lines, $nbuiltin table defaults, e.g.:"
    grep -m1 -A1 -E '^(n_packets=[0-9]+ n_bytes=[0-9]+, )?table=' <<<"$out" | sed 's/^/      /' || true
    [ "$nflows" -gt 0 ] && [ "$nbuiltin" -eq 8 ] && [ $((nfile + nbuiltin)) -eq "$nflows" ] \
        && e2e_ok "$h: every flow names its $(basename "$topo"):line or its pipeline table default" \
        || e2e_fail "$h: $nfile + $nbuiltin of $nflows flows carry provenance"
    # Port provenance must point at the line of that port in the file.
    bad=0
    nport=0
    while read -r obj line; do
        nport=$((nport + 1))
        sed -n "${line}p" "$topo" | grep -q -- "${obj#ports.}" || {
            bad=$((bad + 1))
            echo "    $obj -> line $line: '$(sed -n "${line}p" "$topo")'"
        }
    done < <(sed -n "s/.*<- \(ports\.[A-Za-z0-9_-]*\) ($(basename "$topo"):\([0-9]*\):.*/\1 \2/p" <<<"$out")
    [ $nport -gt 0 ] && [ $bad -eq 0 ] \
        && e2e_ok "$h: $nport port flows point at their port's line" \
        || e2e_fail "$h: $bad of $nport port flows point at the wrong line"
done

e2e_say "OVS oracle: flows in br-int vs the controller's n_flows"
for h in $(e2e_hosts); do
    want=$(jq -r --arg h "$h" '.hosts[] | select(.name == $h) | .n_flows' <<<"$json")
    got=$(e2e_ofdump "$h" | wc -l)
    e2e_eq "$h: ovs-ofctl dump-flows count equals n_flows" "$want" "$got"
done
