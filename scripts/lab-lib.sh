# shellcheck shell=bash
# lab-lib.sh — the anet lab on one machine: shared bash functions used by
# scripts/anet-lab and by the end-to-end tests (tests/e2e/).  Source it; it
# defines functions and variables only.
#
# What a lab is: one network namespace per topology host ("hypervisor",
# anet-LAB-HOST) running a private ovsdb-server + ovs-vswitchd and an
# anet-agent; one namespace per workload port (anet-LAB-w-PORT) whose eth0 is
# a veth into its hypervisor; an underlay namespace (anet-LAB-ul) holding a
# Linux bridge that joins every hypervisor's underlay interface; and an
# anet-controller in the root namespace, reached by each agent over a
# management veth (169.254.K.(4i+1)/30 root side, .(4i+2) as "mgmt0").
#
# Design: the controller is the source of truth.  The lab applies the
# topology with anetctl and reads hosts and ports back from
# `anetctl show -o json`, so the lab plumbs exactly what the product
# understood.  The lab never touches OVS configuration (no ovs-vsctl or
# ovs-ofctl): it only starts daemons and plumbs namespaces and veths; the
# agent creates br-int/br-phy and the tunnel IP itself.  Everything lives
# under one run dir /tmp/anet-LAB (short: OVS unix socket paths must stay
# below 100 characters); what was plumbed is recorded there (hosts/, ports/)
# so that sync and down know what to undo, even after a killed run.

LAB_REPO=${LAB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
LAB_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema

lab_log() { echo "anet-lab[$LAB]: $*"; }
lab_die() { echo "anet-lab[$LAB]: error: $*" >&2; exit 1; }

# lab_init NAME [BINDIR]: sets every per-lab variable.  Ports (but for the
# default lab "lab") and the mgmt subnet are derived from the name so that two
# labs can run side by side.
lab_init() {
    LAB=$1
    [[ $LAB =~ ^[a-z0-9][a-z0-9-]{0,19}$ ]] \
        || { echo "anet-lab: bad lab name '$LAB' (use [a-z0-9-], at most 20 chars)" >&2; exit 2; }
    LAB_RUN=/tmp/anet-$LAB
    LAB_NS=anet-$LAB
    local h
    h=$(printf '%s' "$LAB" | cksum | cut -d' ' -f1)
    LAB_K=$(( h % 250 + 1 ))
    # The default lab uses the controller's default ports, so that a plain
    # `anetctl show` talks to it; other labs get ports of their own.
    if [ "$LAB" = lab ]; then
        LAB_AGENT_PORT=7470
    else
        LAB_AGENT_PORT=$(( 7480 + 2 * (h % 250) ))
    fi
    LAB_HTTP_PORT=$(( LAB_AGENT_PORT + 1 ))
    LAB_URL=http://127.0.0.1:$LAB_HTTP_PORT
    LAB_BIN=${2:-}
    if [ -z "$LAB_BIN" ] && [ -f "$LAB_RUN/bin" ]; then
        LAB_BIN=$(cat "$LAB_RUN/bin")
    fi
    [ -n "$LAB_BIN" ] || LAB_BIN=$LAB_REPO/build
    LAB_BIN=$(cd "$LAB_BIN" 2>/dev/null && pwd || echo "$LAB_BIN")
}

lab_ctl() { "$LAB_BIN/anetctl" --controller "$LAB_URL" "$@"; }
lab_show_json() { lab_ctl show -o json; }

# The OVS environment of host H (every OVS process and tool needs it).
lab_ovs_env() {
    local d=$LAB_RUN/$1
    echo "OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d OVS_PKGDATADIR=/usr/share/openvswitch"
}

lab_host_ns() { echo "$LAB_NS-$1"; }
lab_wl_ns() { echo "$LAB_NS-w-$1"; }

# ---------------------------------------------------------------- teardown

# Pids of our daemons that mention the run dir on their command line (the
# fallback for a killed run whose pid files are gone or stale).  Only the
# four daemon names the lab starts are considered.
lab_stray_pids() {
    local p comm
    for p in $(pgrep -f -- "$LAB_RUN/" 2>/dev/null || true); do
        [ "$p" = "$$" ] && continue
        comm=$(cat "/proc/$p/comm" 2>/dev/null || true)
        case $comm in
            anet-controller|anet-agent|ovsdb-server|ovs-vswitchd) echo "$p" ;;
        esac
    done
}

# lab_kill_pidfile FILE [SIG]: kills the pid in FILE if it is alive.
lab_kill_pidfile() {
    local f=$1 sig=${2:-TERM} p
    [ -f "$f" ] || return 0
    p=$(cat "$f" 2>/dev/null || true)
    [ -n "$p" ] && kill "-$sig" "$p" 2>/dev/null || true
}

# lab_wait_dead PID...: waits (at most ~3 s) for the pids to exit, then
# SIGKILLs what is left.
lab_wait_dead() {
    local i p alive
    for i in $(seq 30); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        sleep 0.1
    done
    for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
}

# Namespaces that belong to this lab: those recorded in its run dir, plus
# every anet-LAB-* not recorded by another lab's run dir (a lab named
# "lab-x" must not lose its namespaces when lab "lab" goes down).
lab_namespaces() {
    local others ns
    others=$(cat /tmp/anet-*/namespaces 2>/dev/null | sort -u || true)
    [ -f "$LAB_RUN/namespaces" ] && cat "$LAB_RUN/namespaces"
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        case $ns in
            "$LAB_NS"-*)
                if [ -f "$LAB_RUN/namespaces" ] && grep -qx -- "$ns" "$LAB_RUN/namespaces"; then
                    continue
                fi
                grep -qx -- "$ns" <<<"$others" || echo "$ns" ;;
        esac
    done
}

lab_down() {
    local f pids ns p nss
    # Agents and controller first (they talk to OVS), then OVS.
    for f in "$LAB_RUN"/agent-*.pid "$LAB_RUN"/controller.pid; do
        [ -e "$f" ] && lab_kill_pidfile "$f"
    done
    for f in "$LAB_RUN"/*/ovs-vswitchd.pid "$LAB_RUN"/*/ovsdb-server.pid; do
        [ -e "$f" ] && lab_kill_pidfile "$f"
    done
    pids=$(cat "$LAB_RUN"/*.pid "$LAB_RUN"/*/*.pid 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && lab_wait_dead $pids
    pids=$(lab_stray_pids)
    if [ -n "$pids" ]; then
        lab_log "killing leftover daemons: $(echo $pids)"
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
        # shellcheck disable=SC2086
        lab_wait_dead $pids
    fi
    nss=$(lab_namespaces | sort -u)
    # Anything still running inside our namespaces (pings, nc) goes too,
    # or the namespace would outlive its name.
    for ns in $nss; do
        for p in $(ip netns pids "$ns" 2>/dev/null || true); do
            kill -KILL "$p" 2>/dev/null || true
        done
    done
    for ns in $nss; do
        ip netns delete "$ns" 2>/dev/null || true
    done
    # Root-side mgmt veths (am<K>h<i>) die with their hv namespace, but
    # asynchronously: delete them now so that an immediate `up` can reuse
    # the names.
    for l in $(ip -o link show 2>/dev/null \
               | sed -n "s/^[0-9]*: \(am${LAB_K}h[0-9]*\)[@:].*/\1/p"); do
        ip link delete "$l" 2>/dev/null || true
    done
    rm -rf "$LAB_RUN"
}

# ---------------------------------------------------------------- controller

lab_port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

lab_start_controller() {
    mkdir -p "$LAB_RUN/state"
    local p
    for p in "$LAB_AGENT_PORT" "$LAB_HTTP_PORT"; do
        lab_port_busy "$p" && lab_die "TCP port $p is in use (another lab or controller?)"
    done
    setsid "$LAB_BIN/anet-controller" --listen "0.0.0.0:$LAB_AGENT_PORT" \
        --http "127.0.0.1:$LAB_HTTP_PORT" --state-dir "$LAB_RUN/state" \
        </dev/null >>"$LAB_RUN/controller.log" 2>&1 &
    echo $! >"$LAB_RUN/controller.pid"
    disown $!
    lab_wait_controller
}

# Waits (at most 10 s) until the controller answers.
lab_wait_controller() {
    local i
    for i in $(seq 100); do
        lab_ctl show -o json >/dev/null 2>&1 && return 0
        kill -0 "$(cat "$LAB_RUN/controller.pid")" 2>/dev/null \
            || { tail -n 20 "$LAB_RUN/controller.log" >&2; lab_die "anet-controller exited"; }
        sleep 0.1
    done
    tail -n 20 "$LAB_RUN/controller.log" >&2
    lab_die "anet-controller does not answer on $LAB_URL"
}

# lab_stop_controller [SIG]
lab_stop_controller() {
    local p
    p=$(cat "$LAB_RUN/controller.pid" 2>/dev/null || true)
    [ -n "$p" ] || return 0
    kill "-${1:-TERM}" "$p" 2>/dev/null || true
    lab_wait_dead "$p"
    rm -f "$LAB_RUN/controller.pid"
}

# ---------------------------------------------------------------- underlay

lab_create_underlay() {
    local ns=$LAB_NS-ul
    ip netns add "$ns"
    echo "$ns" >>"$LAB_RUN/namespaces"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add br-ul type bridge
    ip -n "$ns" link set br-ul up
}

# ---------------------------------------------------------------- hosts

# Index of host H (stable for the lab's life; a new host takes the next free).
lab_host_index() {
    local h=$1 i
    if [ -f "$LAB_RUN/hosts/$h" ]; then
        cut -d' ' -f1 "$LAB_RUN/hosts/$h"
        return
    fi
    for i in $(seq 0 62); do
        grep -q "^$i " "$LAB_RUN"/hosts/* 2>/dev/null || { echo "$i"; return; }
    done
    lab_die "too many hosts (at most 63)"
}

lab_mgmt_ip() { echo "169.254.$LAB_K.$(( 4 * $1 + ${2:-1} ))"; }

# lab_create_host HOST UNDERLAY_IFACE: namespace, underlay + mgmt veths,
# private OVS, agent.
lab_create_host() {
    local h=$1 ul=${2:-ul0} i ns d root
    i=$(lab_host_index "$h")
    ns=$(lab_host_ns "$h")
    d=$LAB_RUN/$h
    root=am${LAB_K}h$i
    mkdir -p "$d" "$LAB_RUN/hosts"
    echo "$i $ul" >"$LAB_RUN/hosts/$h"
    ip netns add "$ns"
    echo "$ns" >>"$LAB_RUN/namespaces"
    ip -n "$ns" link set lo up
    # Underlay: HOST's underlay_iface <-> port "h<i>" of the underlay bridge.
    ip link add "$ul" netns "$ns" type veth peer name "h$i" netns "$LAB_NS-ul"
    ip -n "$LAB_NS-ul" link set "h$i" master br-ul
    ip netns exec "$LAB_NS-ul" ethtool -K "h$i" tx off >/dev/null
    ip netns exec "$ns" ethtool -K "$ul" tx off >/dev/null
    ip -n "$LAB_NS-ul" link set "h$i" up
    ip -n "$ns" link set "$ul" up
    # Management: root "am<K>h<i>" <-> "mgmt0" in the hypervisor.
    ip link add "$root" type veth peer name mgmt0 netns "$ns"
    ip addr add "$(lab_mgmt_ip "$i" 1)/30" dev "$root"
    ip -n "$ns" addr add "$(lab_mgmt_ip "$i" 2)/30" dev mgmt0
    ip link set "$root" up
    ip -n "$ns" link set mgmt0 up
    lab_start_ovs "$h"
    lab_start_agent "$h"
}

lab_start_ovs() {
    local h=$1 ns d
    ns=$(lab_host_ns "$h")
    d=$LAB_RUN/$h
    mkdir -p "$d"
    # shellcheck disable=SC2046
    env $(lab_ovs_env "$h") ovsdb-tool create "$d/conf.db" "$LAB_SCHEMA"
    # shellcheck disable=SC2046
    ip netns exec "$ns" env $(lab_ovs_env "$h") ovsdb-server "$d/conf.db" \
        --remote="punix:$d/db.sock" --pidfile="$d/ovsdb-server.pid" \
        --unixctl="$d/ovsdb-server.ctl" --log-file="$d/ovsdb-server.log" \
        --detach </dev/null >>"$d/ovsdb-server.log" 2>&1
    # shellcheck disable=SC2046
    ip netns exec "$ns" env $(lab_ovs_env "$h") ovs-vswitchd "unix:$d/db.sock" \
        --pidfile="$d/ovs-vswitchd.pid" --unixctl="$d/ovs-vswitchd.ctl" \
        --log-file="$d/ovs-vswitchd.log" --disable-system \
        --detach </dev/null >>"$d/ovs-vswitchd.log" 2>&1
}

lab_start_agent() {
    local h=$1 i ns d
    i=$(lab_host_index "$h")
    ns=$(lab_host_ns "$h")
    d=$LAB_RUN/$h
    # shellcheck disable=SC2046
    setsid ip netns exec "$ns" env $(lab_ovs_env "$h") "$LAB_BIN/anet-agent" \
        --host "$h" --controller "$(lab_mgmt_ip "$i" 1):$LAB_AGENT_PORT" \
        --ovs-rundir "$d" </dev/null >>"$LAB_RUN/agent-$h.log" 2>&1 &
    echo $! >"$LAB_RUN/agent-$h.pid"
    disown $!
}

# lab_stop_agent HOST [SIG]
lab_stop_agent() {
    local p
    p=$(cat "$LAB_RUN/agent-$1.pid" 2>/dev/null || true)
    [ -n "$p" ] || return 0
    kill "-${2:-TERM}" "$p" 2>/dev/null || true
    lab_wait_dead "$p"
    rm -f "$LAB_RUN/agent-$1.pid"
}

lab_destroy_host() {
    local h=$1 ns d p i
    i=$(lab_host_index "$h")
    ns=$(lab_host_ns "$h")
    d=$LAB_RUN/$h
    lab_stop_agent "$h"
    lab_kill_pidfile "$d/ovs-vswitchd.pid"
    lab_kill_pidfile "$d/ovsdb-server.pid"
    for p in $(cat "$d"/*.pid 2>/dev/null || true); do lab_wait_dead "$p"; done
    # The veth peers die with the namespace, but asynchronously: delete
    # them now so that a host re-added at this index finds the names free.
    ip -n "$LAB_NS-ul" link delete "h$i" 2>/dev/null || true
    ip link delete "am${LAB_K}h$i" 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
    sed -i "/^$ns\$/d" "$LAB_RUN/namespaces"
    rm -rf "$d" "$LAB_RUN/hosts/$h"
}

# ---------------------------------------------------------------- workloads

# lab_plumb_port PORT HOST IFACE MAC IP MTU SWITCH: the workload namespace
# (created once, kept across moves) and its veth: IFACE in HOST's namespace,
# eth0 in the workload's.
lab_plumb_port() {
    local p=$1 h=$2 ifc=$3 mac=$4 ip=$5 mtu=$6 sw=$7 wns hns
    wns=$(lab_wl_ns "$p")
    hns=$(lab_host_ns "$h")
    [ "$mtu" -gt 0 ] 2>/dev/null || mtu=1400
    if ! ip netns list | awk '{print $1}' | grep -qx -- "$wns"; then
        ip netns add "$wns"
        echo "$wns" >>"$LAB_RUN/namespaces"
        ip -n "$wns" link set lo up
    fi
    ip link add "$ifc" netns "$hns" mtu "$mtu" type veth \
        peer name eth0 netns "$wns" mtu "$mtu"
    [ -n "$mac" ] && ip -n "$wns" link set eth0 address "$mac"
    local addr=$ip
    if [ -n "$ip" ] && [ "${ip#*/}" = "$ip" ]; then
        lab_log "warning: port $p has no prefix length in show JSON ($ip); using /24"
        addr=$ip/24
    fi
    [ -n "$addr" ] && ip -n "$wns" addr add "$addr" dev eth0
    ip netns exec "$hns" ethtool -K "$ifc" tx off >/dev/null
    ip netns exec "$wns" ethtool -K eth0 tx off >/dev/null
    ip -n "$hns" link set "$ifc" up
    ip -n "$wns" link set eth0 up
    mkdir -p "$LAB_RUN/ports"
    printf '%s|%s|%s|%s|%s|%s\n' "$h" "$ifc" "$mac" "$ip" "$mtu" "$sw" \
        >"$LAB_RUN/ports/$p"
}

# lab_unplumb_port PORT [keep]: deletes the veth (both ends); without
# "keep" also the workload namespace.
lab_unplumb_port() {
    local p=$1 rec h ifc wns
    rec=$LAB_RUN/ports/$p
    [ -f "$rec" ] || return 0
    IFS='|' read -r h ifc _ <"$rec"
    ip -n "$(lab_host_ns "$h")" link delete "$ifc" 2>/dev/null || true
    rm -f "$rec"
    if [ "${2:-}" != keep ]; then
        wns=$(lab_wl_ns "$p")
        for pid in $(ip netns pids "$wns" 2>/dev/null || true); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns delete "$wns" 2>/dev/null || true
        sed -i "/^$wns\$/d" "$LAB_RUN/namespaces"
    fi
}

# ---------------------------------------------------------------- topology

# Hosts as "name|underlay_iface" lines, from show JSON on stdin.
lab_jq_hosts() {
    jq -r '.hosts[] | [.name, (.underlay_iface // "ul0")] | join("|")'
}

# Ports as "name|host|iface|mac|ip|mtu|switch" lines, from show JSON ('|',
# not a tab: read collapses runs of whitespace separators, and ip may be empty).
lab_jq_ports() {
    jq -r '.hosts[] as $h | $h.ports[] |
        [.name, $h.name, (.iface // .name), (.mac // ""), (.ip // ""),
         ((if (.mtu // 0) > 0 then .mtu else 1400 end) | tostring), (.switch // "")] | join("|")'
}

# lab_apply FILE: anetctl apply, failing the lab on refusal.
lab_apply() {
    local out
    if ! out=$(lab_ctl apply "$1" 2>&1); then
        echo "$out" >&2
        lab_die "the controller refused $1"
    fi
    lab_log "$out"
}

# lab_reconcile: makes namespaces/veths match the controller's show JSON
# (new hosts, removed hosts, new/moved/changed/removed ports).
lab_reconcile() {
    local json h ul p ph ifc mac ip mtu sw rec want
    json=$(lab_show_json) || lab_die "anetctl show failed"
    mkdir -p "$LAB_RUN/hosts" "$LAB_RUN/ports"
    while IFS='|' read -r h ul; do
        [ -n "$h" ] || continue
        if [ ! -f "$LAB_RUN/hosts/$h" ]; then
            lab_log "host $h: namespace $(lab_host_ns "$h"), OVS, agent"
            lab_create_host "$h" "$ul"
        fi
    done < <(lab_jq_hosts <<<"$json")
    # Ports that went away or changed first, so that a moved port's
    # interface name is free before it is created again.
    for rec in "$LAB_RUN"/ports/*; do
        [ -f "$rec" ] || continue
        p=$(basename "$rec")
        want=$(lab_jq_ports <<<"$json" | awk -F'|' -v p="$p" '$1 == p' \
               | cut -d'|' -f2-)
        if [ -z "$want" ]; then
            lab_log "port $p: removed"
            lab_unplumb_port "$p"
        elif [ "$want" != "$(cat "$rec")" ]; then
            lab_log "port $p: $(cut -d'|' -f1 "$rec") -> $(cut -d'|' -f1 <<<"$want")"
            lab_unplumb_port "$p" keep
        fi
    done
    while IFS='|' read -r p ph ifc mac ip mtu sw; do
        [ -n "$p" ] || continue
        [ -f "$LAB_RUN/ports/$p" ] && continue
        lab_log "port $p: on $ph as $ifc ($ip, $mac, switch $sw)"
        lab_plumb_port "$p" "$ph" "$ifc" "$mac" "$ip" "$mtu" "$sw"
    done < <(lab_jq_ports <<<"$json")
    for rec in "$LAB_RUN"/hosts/*; do
        [ -f "$rec" ] || continue
        h=$(basename "$rec")
        if ! lab_jq_hosts <<<"$json" | cut -d'|' -f1 | grep -qx -- "$h"; then
            lab_log "host $h: removed"
            lab_destroy_host "$h"
        fi
    done
}

# lab_ready: true when every host is connected, has applied its desired
# generation, and every port is up.
lab_ready() {
    lab_show_json 2>/dev/null | jq -e '
        (.hosts | length) > 0 and
        all(.hosts[]; .connected == true
            and .applied_generation == .desired_generation
            and all(.ports[]; .up == true))' >/dev/null 2>&1
}

# lab_wait_ready [SECONDS]
lab_wait_ready() {
    local t=${1:-30} i
    for i in $(seq $(( t * 4 ))); do
        lab_ready && return 0
        sleep 0.25
    done
    lab_log "not ready after ${t}s:"
    lab_show_json | jq -r '.hosts[] | "  \(.name): connected=\(.connected) applied=\(.applied_generation) desired=\(.desired_generation) error=\(.last_error // "") ports down: \([.ports[] | select(.up != true) | .name] | join(","))"' >&2 || true
    return 1
}

# ---------------------------------------------------------------- reachability

# lab_matrix: pings every ordered pair of workloads with an IP (in
# parallel), prints expected vs observed, returns 1 on any difference.
lab_matrix() {
    local tmp names=() ips=() sws=() n i j ok=0 okexp=0 leak=0 isoexp=0
    local rec h ifc mac ip mtu sw row cell rc=0 pids=()
    tmp=$(mktemp -d)
    for rec in "$LAB_RUN"/ports/*; do
        [ -f "$rec" ] || continue
        IFS='|' read -r h ifc mac ip mtu sw <"$rec"
        [ -n "$ip" ] || continue
        names+=("$(basename "$rec")")
        ips+=("${ip%/*}")
        sws+=("$sw")
    done
    n=${#names[@]}
    for ((i = 0; i < n; i++)); do
        for ((j = 0; j < n; j++)); do
            [ $i = $j ] && continue
            ip netns exec "$(lab_wl_ns "${names[$i]}")" \
                ping -q -n -c 2 -i 0.3 -W 1 "${ips[$j]}" >"$tmp/$i-$j" 2>&1 &
            pids+=($!)
        done
    done
    # Only the pings: the lab's daemons may be children of this shell too.
    [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}" || true
    printf '%-12s' "from \\ to"
    for ((j = 0; j < n; j++)); do printf ' %-8s' "${names[$j]:0:8}"; done
    echo
    for ((i = 0; i < n; i++)); do
        row=$(printf '%-12s' "${names[$i]:0:12}")
        for ((j = 0; j < n; j++)); do
            if [ $i = $j ]; then
                cell=.
            else
                local got=0
                grep -Eq ' [1-9][0-9]* (packets )?received' "$tmp/$i-$j" && got=1
                if [ "${sws[$i]}" = "${sws[$j]}" ]; then
                    okexp=$((okexp + 1))
                    if [ $got = 1 ]; then ok=$((ok + 1)); cell=ok; else cell=FAIL; rc=1; fi
                else
                    isoexp=$((isoexp + 1))
                    if [ $got = 1 ]; then leak=$((leak + 1)); cell=LEAK; rc=1; else cell=--; fi
                fi
            fi
            row+=$(printf ' %-8s' "$cell")
        done
        echo "$row"
    done
    rm -rf "$tmp"
    echo "(ok = reachable as expected, -- = isolated as expected, FAIL = expected reachable but not, LEAK = expected isolated but reachable)"
    local verdict=OK
    [ $rc = 0 ] || verdict=MISMATCH
    echo "reachability: $ok/$okexp expected pairs reachable, $leak/$isoexp isolated pairs leaked — $verdict"
    return $rc
}
