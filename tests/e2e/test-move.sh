#!/bin/bash
# End-to-end: moving a workload to another host (two-switches.yaml ->
# two-switches-moved.yaml, web1 hv1 -> hv2).
#   - `anetctl plan` before the move changes flows on the old and the new
#     host, and elsewhere only flows of web1 and of its switch (flood set),
#   - after `anet-lab sync`, web1 is on its new host and reachable from its
#     switch peers again (and the whole matrix holds),
#   - continuous pings between workloads that did not move lose nothing.
. "$(dirname "$0")/lib.sh"
e2e_init e2e-move
topo=$E2E_TOPO/two-switches.yaml
moved_topo=$E2E_TOPO/two-switches-moved.yaml
mover=web1
e2e_up "$topo"

old=$(e2e_port_host "$mover")
new=$(awk -v p="$mover" '/^ *- name: / { n = $3 } n == p && /^ *host: / { print $2; exit }' "$moved_topo")
[ -n "$new" ] && [ "$new" != "$old" ] || e2e_abort "test bug: $mover does not move in $(basename "$moved_topo")"
msw=$(e2e_port_switch "$mover")
echo "  $mover (switch $msw) moves $old -> $new"

e2e_say "anetctl plan $(basename "$moved_topo") (before the move)"
lab_ctl plan "$moved_topo" | sed 's/^/    /' | head -n 40
plan=$(curl -sS --max-time 10 -X POST -H "X-Anet-Filename: $(basename "$moved_topo")" \
       --data-binary "@$moved_topo" "$LAB_URL/api/v1/plan")
changed=$(jq -r '.hosts | to_entries[] | select(([.value.added, .value.removed, .value.modified] | map(length) | add) > 0) | .key' <<<"$plan" | sort | tr '\n' ' ')
echo "  hosts with changes: $changed"
for h in "$old" "$new"; do
    case " $changed " in
        *" $h "*) e2e_ok "plan changes flows on $h (involved)" ;;
        *) e2e_fail "plan changes nothing on $h, which is involved" ;;
    esac
done
for h in $changed; do
    [ "$h" = "$old" ] || [ "$h" = "$new" ] && continue
    # Elsewhere only flows of the moved port itself (its tunnel
    # destination) and of its switch (the flood set lost or gained a
    # host) may change; nothing of other switches or ports.
    others=$(jq -r --arg h "$h" --arg p "ports.$mover" --arg s "switches.$msw" '
        .hosts[$h] | [.added, .removed, .modified] | add
        | map(select(.provenance.object != $p and .provenance.object != $s))
        | map("\(.provenance.object): table=\(.table) \(.match)") | .[]' <<<"$plan")
    [ -z "$others" ] \
        && e2e_ok "$h (not involved): plan changes only flows of ports.$mover and switches.$msw" \
        || e2e_fail "$h (not involved): plan changes flows of other objects: $others"
done

# Continuous pings between workloads that stay put, across hosts.
p1=$(e2e_cross_pair "$mover") || e2e_abort "no cross-host pair without $mover"
read -r a1 b1 <<<"$p1"
p2=$(e2e_cross_pair "$mover" "$a1" "$b1") || p2=
pings=()
i=0
pstart=$(date +%s%N)
for pr in "$p1" "$p2"; do
    [ -n "$pr" ] || continue
    read -r a b <<<"$pr"
    # 240 pings, 12 s: well past the move; ping ends on its own and waits
    # for the last replies (a SIGINT would count the one in flight as lost).
    e2e_say "continuous ping $a ($(e2e_port_host "$a")) -> $b ($(e2e_port_host "$b")), every 50 ms for 12 s"
    ip netns exec "$(lab_wl_ns "$a")" ping -n -q -i 0.05 -c 240 -W 1 "$(e2e_port_ip "$b")" \
        >"$E2E_TMP/ping$i" 2>&1 &
    pings+=($!)
    i=$((i + 1))
done
sleep 1

e2e_say "anet-lab sync $(basename "$moved_topo")"
t0=$(date +%s%N)
"$E2E_LAB" sync "$moved_topo" --name "$LAB" || e2e_fail "anet-lab sync failed"
t1=$(date +%s%N)
echo "  sync took $(( (t1 - t0) / 1000000 )) ms"
[ $(( (t1 - pstart) / 1000000 )) -lt 10000 ] \
    || e2e_fail "the move ended $(( (t1 - pstart) / 1000000 )) ms after the pings started: they did not cover it"
e2e_eq "$mover's host after sync (lab record)" "$new" "$(e2e_port_host "$mover")"
e2e_eq "$mover's host after sync (controller)" "$new" \
    "$(lab_show_json | jq -r --arg p "$mover" '.hosts[] | select(any(.ports[]; .name == $p)) | .name')"

e2e_say "$mover reachable from its switch peers again"
for p in $(e2e_ports); do
    [ "$p" != "$mover" ] && [ "$(e2e_port_switch "$p")" = "$(e2e_port_switch "$mover")" ] || continue
    n=$(e2e_ping "$p" "$mover" 3)
    [ "${n:-0}" -ge 1 ] && e2e_ok "$p -> $mover: $n/3 replies" || e2e_fail "$p -> $mover: no reply"
    n=$(e2e_ping "$mover" "$p" 3)
    [ "${n:-0}" -ge 1 ] && e2e_ok "$mover -> $p: $n/3 replies" || e2e_fail "$mover -> $p: no reply"
done
e2e_check "ping matrix as expected after the move" lab_matrix

i=0
for pid in "${pings[@]}"; do
    wait "$pid" || true
    echo "  $(grep 'packets transmitted' "$E2E_TMP/ping$i" || echo "ping $i: no summary")"
    e2e_eq "continuous ping $i lost packets" 0 "$(e2e_ping_loss "$E2E_TMP/ping$i")"
    i=$((i + 1))
done
pings=()
