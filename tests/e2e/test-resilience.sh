#!/bin/bash
# End-to-end: the data plane does not depend on the control plane staying up.
#   - SIGKILL the controller: pings across hosts still work,
#   - restart it on the same state dir: agents reconnect, same generation,
#     no flow changed (OVS dumps),
#   - restart an agent while a 100 pps ping runs through its host: 0% loss,
#   - SIGKILL an agent: its flows stay in OVS; restart it: still unchanged.
. "$(dirname "$0")/lib.sh"
e2e_init e2e-resil
e2e_up "$E2E_TOPO/two-switches.yaml"

pair=$(e2e_cross_pair) || e2e_abort "topology has no same-switch pair on two hosts"
read -r a b <<<"$pair"
victim=$(e2e_port_host "$a")
echo "  cross-host pair: $a ($victim) -> $b ($(e2e_port_host "$b"))"
gen0=$(lab_show_json | jq -r .generation)
e2e_dump_all "$E2E_TMP/d0"

# compare_dumps LABEL DIR: every host's flows identical to d0.
compare_dumps() {
    local h same=1
    e2e_dump_all "$2"
    for h in $(e2e_hosts); do
        if ! diff -u "$E2E_TMP/d0/$h" "$2/$h" >"$2/$h.diff"; then
            same=0
            echo "    $h changed:"
            head -n 10 "$2/$h.diff" | sed 's/^/      /'
        fi
    done
    [ $same = 1 ] && e2e_ok "$1: OVS flows of every host unchanged" || e2e_fail "$1: OVS flows changed"
}

e2e_say "SIGKILL the controller"
lab_stop_controller KILL
rc=0
lab_ctl show >/dev/null 2>&1 || rc=$?
e2e_eq "anetctl show exit code with the controller down" 3 "$rc"
n=$(e2e_ping "$a" "$b" 5)
e2e_eq "$a -> $b replies with the controller down" 5 "${n:-0}"
compare_dumps "controller down" "$E2E_TMP/d1"

e2e_say "restart the controller on the same state dir"
lab_start_controller
e2e_check "agents reconnect, at their applied generation, ports up" lab_wait_ready 30
e2e_eq "generation after restart" "$gen0" "$(lab_show_json | jq -r .generation)"
e2e_eq "hosts connected" "$(lab_show_json | jq '.hosts | length')" \
    "$(lab_show_json | jq '[.hosts[] | select(.connected)] | length')"
compare_dumps "controller restarted" "$E2E_TMP/d2"

e2e_say "restart the agent of $victim during a 100 pps ping $a -> $b (500 packets)"
ip netns exec "$(lab_wl_ns "$a")" ping -n -q -i 0.01 -c 500 -W 1 "$(e2e_port_ip "$b")" \
    >"$E2E_TMP/ping100" 2>&1 &
pp=$!
sleep 1
lab_stop_agent "$victim" TERM
lab_start_agent "$victim"
wait "$pp" || true
echo "  $(grep 'packets transmitted' "$E2E_TMP/ping100" || echo 'no ping summary')"
e2e_eq "packets lost while the agent restarted" 0 "$(e2e_ping_loss "$E2E_TMP/ping100")"
e2e_check "a new agent process runs for $victim" kill -0 "$(cat "$LAB_RUN/agent-$victim.pid")"
e2e_check "restarted agent reconnects at the same generation" e2e_wait_synced 30
e2e_check "restarted agent reports its ports up" lab_wait_ready 10
compare_dumps "agent restarted" "$E2E_TMP/d3"

e2e_say "SIGKILL the agent of $victim"
lab_stop_agent "$victim" KILL
sleep 0.5
compare_dumps "agent killed" "$E2E_TMP/d4"
n=$(e2e_ping "$a" "$b" 5)
e2e_eq "$a -> $b replies with the agent dead" 5 "${n:-0}"
lab_start_agent "$victim"
e2e_check "agent back after SIGKILL at the same generation" e2e_wait_synced 30
e2e_check "agent back after SIGKILL reports its ports up" lab_wait_ready 10
e2e_eq "generation" "$gen0" "$(lab_show_json | jq -r .generation)"
compare_dumps "agent restarted after SIGKILL" "$E2E_TMP/d5"
