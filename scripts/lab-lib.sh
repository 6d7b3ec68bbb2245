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
#
# Routing: the lab gives each workload a default route via the router port
# on its switch (the first router in show JSON's "routers" with a port
# there), or, in DHCP mode (`up --dhcp`, remembered in the run dir), leaves
# the address of DHCP ports (show JSON "dhcp": true) unset and runs
# busybox udhcpc in the workload once the port is up, checking that the
# lease is exactly the configured address, gateway and MTU.  The expected
# reachability matrix follows the routers' tables (lab_expect_reach), and
# collapses to "same switch" when there are no routers.
#
# External networks (show JSON "external_networks"): for each, an "outside"
# namespace anet-LAB-x-NAME plays the provider network's router: a veth
# whose hypervisor end is the network's iface (e.g. ext0) in the gateway
# host's namespace (the agent attaches it to br-int; the lab does not touch
# OVS) and whose outside end eth0 carries gateway_ip/plen and gateway_mac.
# The outside has only its connected route: router gateway IPs and floating
# IPs are on-link, the internal networks are not routed, so it reaches them
# only through floating IPs, port forwards and replies.  lab_matrix adds an
# "outside" section: a workload is expected to reach an external network's
# gateway_ip when the router of its switch (its default gateway) has its
# gateway on that network and NATs the workload (its switch in the router's
# "snat", or a floating IP for the port).

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
    # DHCP mode: set by `up --dhcp` / `sync --dhcp` (LAB_DHCP=1 before
    # lab_init), then remembered in the run dir for later syncs.
    if [ -f "$LAB_RUN/dhcp-mode" ]; then LAB_DHCP=1; fi
    LAB_DHCP=${LAB_DHCP:-0}
    # DPDK mode likewise: `up --dpdk` (LAB_DPDK=1 before lab_init), then
    # remembered in the run dir.
    if [ -f "$LAB_RUN/dpdk-mode" ]; then LAB_DPDK=1; fi
    LAB_DPDK=${LAB_DPDK:-0}
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
lab_ext_ns() { echo "$LAB_NS-x-$1"; }

# ---------------------------------------------------------------- teardown

# Pids of our daemons that mention the run dir on their command line (the
# fallback for a killed run whose pid files are gone or stale).  Only the
# daemon names the lab starts (and anet-nfv, started by agents) count.
lab_stray_pids() {
    local p comm
    for p in $(pgrep -f -- "$LAB_RUN/" 2>/dev/null || true); do
        [ "$p" = "$$" ] && continue
        comm=$(cat "/proc/$p/comm" 2>/dev/null || true)
        # ovs-vswitchd-dpdk's comm is cut to 15 characters.
        case $comm in
            anet-controller|anet-agent|anet-nfv|ovsdb-server|ovs-vswitchd|ovs-vswitchd-dp) echo "$p" ;;
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
# SIGKILLs what is left and waits (at most ~5 s more) until it is gone: a
# killed ovs-vswitchd-dpdk takes a moment to unmap its hugepages, which
# down gives back right after.
lab_wait_dead() {
    local i p alive
    for i in $(seq 80); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        if [ "$i" = 30 ]; then
            for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
        fi
        sleep 0.1
    done
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
    # Anything still running inside our namespaces (pings, nc, anet-nfv
    # instances, which outlive their agent by design) goes too, or the
    # namespace would outlive its name; wait until it is gone (an instance
    # unmaps its hugepages, which are given back below).
    pids=""
    for ns in $nss; do
        for p in $(ip netns pids "$ns" 2>/dev/null || true); do
            kill -KILL "$p" 2>/dev/null || true
            pids+=" $p"
        done
    done
    # shellcheck disable=SC2086
    [ -n "$pids" ] && lab_wait_dead $pids
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
    # DPDK hosts: their hugepage files and run dirs, then the pages the lab
    # reserved (every process that used them is gone by now).
    lab_dpdk_down
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
    if lab_dpdk_host "$h"; then
        lab_dpdk_check_prefix "$h"
        lab_hugepages_reserve "$h" "$(lab_dpdk_pages "$h")"
    fi
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
    if lab_dpdk_host "$h"; then lab_dpdk_wait_applied "$h"; fi
}

lab_start_ovs() {
    local h=$1 ns d
    ns=$(lab_host_ns "$h")
    d=$LAB_RUN/$h
    mkdir -p "$d"
    # shellcheck disable=SC2046
    env $(lab_ovs_env "$h") ovsdb-tool create "$d/conf.db" "$LAB_SCHEMA"
    # A DPDK host's database starts empty like any other: its agent
    # inserts the Open_vSwitch row and writes dpdk-socket-limit itself.
    # shellcheck disable=SC2046
    ip netns exec "$ns" env $(lab_ovs_env "$h") ovsdb-server "$d/conf.db" \
        --remote="punix:$d/db.sock" --pidfile="$d/ovsdb-server.pid" \
        --unixctl="$d/ovsdb-server.ctl" --log-file="$d/ovsdb-server.log" \
        --detach </dev/null >>"$d/ovsdb-server.log" 2>&1
    # A DPDK host runs the DPDK build of ovs-vswitchd (same options; the
    # agent turns DPDK on through other_config).
    local vswitchd=ovs-vswitchd
    lab_dpdk_host "$h" && vswitchd=$LAB_DPDK_VSWITCHD
    # shellcheck disable=SC2046
    ip netns exec "$ns" env $(lab_ovs_env "$h") "$vswitchd" "unix:$d/db.sock" \
        --pidfile="$d/ovs-vswitchd.pid" --unixctl="$d/ovs-vswitchd.ctl" \
        --log-file="$d/ovs-vswitchd.log" --disable-system \
        --detach </dev/null >>"$d/ovs-vswitchd.log" 2>&1
}

lab_start_agent() {
    local h=$1 i ns d
    i=$(lab_host_index "$h")
    ns=$(lab_host_ns "$h")
    d=$LAB_RUN/$h
    # anet-nfv instances' control sockets live in the host's run dir.
    # shellcheck disable=SC2046
    setsid ip netns exec "$ns" env $(lab_ovs_env "$h") ANET_NFV_RUNDIR="$d/nfv" \
        "$LAB_BIN/anet-agent" \
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
    # Outside namespaces plumbed into this host lose their veth with it.
    for p in "$LAB_RUN"/externals/*; do
        [ -f "$p" ] && [ "$(cut -d'|' -f1 "$p")" = "$h" ] \
            && lab_unplumb_external "$(basename "$p")"
    done
    lab_kill_pidfile "$d/ovs-vswitchd.pid"
    lab_kill_pidfile "$d/ovsdb-server.pid"
    for p in $(cat "$d"/*.pid 2>/dev/null || true); do lab_wait_dead "$p"; done
    # The veth peers die with the namespace, but asynchronously: delete
    # them now so that a host re-added at this index finds the names free.
    ip -n "$LAB_NS-ul" link delete "h$i" 2>/dev/null || true
    ip link delete "am${LAB_K}h$i" 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
    sed -i "/^$ns\$/d" "$LAB_RUN/namespaces"
    lab_dpdk_cleanup_host "$h"
    lab_hugepages_release "$h"
    rm -rf "$d" "$LAB_RUN/hosts/$h"
}

# ---------------------------------------------------------------- DPDK

# DPDK mode (`up --dpdk`, remembered in the run dir as dpdk-mode): the lab
# gives every host of the topology it applies a `dpdk:` mapping
# (LAB_DPDK_MAP, unless the host has one of its own), so the agent turns
# DPDK on through OVSDB and attaches the workload veths and the underlay
# ul0 as net_af_packet DPDK ports.  Independently of the mode, a host with
# a `dpdk:` mapping in the applied file is a DPDK host: recorded as
# dpdk/HOST (its socket_mem in MiB), it runs LAB_DPDK_VSWITCHD instead of
# ovs-vswitchd, and the lab reserves socket_mem/2 2 MiB hugepages for it
# before OVS starts.  Hugepages are shared by everyone on the machine
# (other labs, tests, benches): the lab only ever adds its pages to
# nr_hugepages (under a lock), records what it added per host in
# hugepages/HOST, and takes exactly that away when the host goes (down,
# sync, a failed up).  The lab never sets dpdk-extra: the agent writes
# --file-prefix=anet-HOST, so DPDK's files are /dev/hugepages/anet-HOST*
# and /var/run/dpdk/anet-HOST, removed when the host goes.  Two labs in
# DPDK mode with a host of the same name would share that prefix: the
# second is refused.
LAB_DPDK_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
LAB_DPDK_MAP='{socket_mem: 256, pmd_cpu_mask: "0x2", lcore_mask: "0x1", pmd_maxsleep_us: 500}'
LAB_HUGE_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
LAB_HUGE_DIR=/dev/hugepages
LAB_HUGE_LOCK=/tmp/anet-hugepages.lock

lab_dpdk_host() { [ -f "$LAB_RUN/dpdk/$1" ]; }
# lab_dpdk_pages HOST: 2 MiB pages for HOST's socket_mem (rounded up),
# plus LAB_DPDK_NFV_PAGES per NFV instance the topology places on HOST
# (dpdk/HOST holds "SOCKET_MEM N_NFV"): on a DPDK host anet-nfv's ports
# are vhost-user, which needs its memory in hugepages too.
LAB_DPDK_NFV_PAGES=64
lab_dpdk_pages() {
    local sm nfv
    read -r sm nfv <"$LAB_RUN/dpdk/$1"
    echo $(( (sm + 1) / 2 + ${nfv:-0} * LAB_DPDK_NFV_PAGES ))
}

# lab_dpdk_install: the DPDK build of ovs-vswitchd (Debian package
# openvswitch-switch-dpdk; dpdk-dev brings dpdk-testpmd for the benches).
# The package registers ovs-vswitchd-dpdk as an alternative of lower
# priority: the system's ovs-vswitchd stays the plain one.
lab_dpdk_install() {
    [ -x "$LAB_DPDK_VSWITCHD" ] && return 0
    lab_log "installing openvswitch-switch-dpdk dpdk-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        openvswitch-switch-dpdk dpdk-dev >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y -q --no-install-recommends openvswitch-switch-dpdk dpdk-dev >/dev/null; } \
        || lab_die "cannot install openvswitch-switch-dpdk"
    systemctl stop openvswitch-switch >/dev/null 2>&1 || true
    [ -x "$LAB_DPDK_VSWITCHD" ] || lab_die "openvswitch-switch-dpdk has no $LAB_DPDK_VSWITCHD"
}

# lab_dpdk_prepare FILE: the topology the lab applies, printed as a path.
# In DPDK mode a copy of FILE (same base name, in the run dir: provenance
# still names the file; lines below an added mapping shift by one) where
# every host without `dpdk:` got LAB_DPDK_MAP; otherwise FILE itself.
# Either way dpdk/HOST records the hosts with `dpdk:` and their socket_mem.
# Hosts must be a block list; each host a block mapping or a flow mapping
# opened on its "- " line (what people write); lab_dpdk_verify catches
# the rest.
lab_dpdk_prepare() {
    local in=$1 out=/dev/null list
    if [ "$LAB_DPDK" = 1 ]; then
        mkdir -p "$LAB_RUN/topology"
        out=$LAB_RUN/topology/$(basename "$in")
        : >"$out"
    fi
    list=$(mktemp)
    awk -v add="$LAB_DPDK" -v map="$LAB_DPDK_MAP" -v out="$out" -v list="$list" '
        function flush(   i, l, has, sm, nm, ind, rest) {
            if (n == 0) return
            has = 0; sm = ""; nm = ""
            for (i = 1; i <= n; i++) {
                l = buf[i]
                if (flow) {
                    if (l ~ /[{,] *dpdk *:/) has = 1
                } else {
                    # A key of the host: right after "- " on the first
                    # line, else indented exactly like the first key.
                    if (i == 1) l = substr(l, ki + 1)
                    else if (match(l, /^ */) && RLENGTH == ki) l = substr(l, ki + 1)
                    else l = ""
                    if (l ~ /^dpdk *:/) has = 1
                }
                if (match(buf[i], /(^|[{, ])name *: *["\047]?[a-z0-9][a-z0-9_-]*/) && nm == "") {
                    nm = substr(buf[i], RSTART, RLENGTH)
                    sub(/.*name *: *["\047]?/, "", nm)
                }
                if (match(buf[i], /socket_mem *: *[0-9]+/)) {
                    sm = substr(buf[i], RSTART, RLENGTH); sub(/.*: */, "", sm)
                }
            }
            if (!has && add == 1) {
                if (flow) sub(/\{/, "{dpdk: " map ", ", buf[1])
                else {
                    ind = sprintf("%" ki "s", "")
                    buf[1] = buf[1] "\n" ind "dpdk: " map
                }
                has = 1; sm = 256
            }
            for (i = 1; i <= n; i++) print buf[i] > out
            if (has && nm != "") print nm, sm > list
            n = 0
        }
        /^[A-Za-z_"\047][^:]*:/ { flush(); sect = $0; sub(/ *:.*/, "", sect); li = -1 }
        sect == "hosts" && /^ *- / {
            match($0, /^ *-/)
            if (li < 0) li = RLENGTH
            if (RLENGTH == li) {
                flush()
                match($0, /^ *- */); ki = RLENGTH
                rest = substr($0, ki + 1)
                flow = (rest ~ /^\{/)
                buf[++n] = $0
                next
            }
        }
        n > 0 { buf[++n] = $0; next }
        { print > out }
        END { flush() }
    ' "$in" </dev/null || lab_die "cannot rewrite $in for DPDK mode"
    rm -rf "$LAB_RUN/dpdk.new"
    mkdir -p "$LAB_RUN/dpdk.new"
    # NFV instances per host (firewalls: and load_balancers: items).
    local nfvlist
    nfvlist=$(awk '
        /^[A-Za-z_"\047][^:]*:/ { sect = $0; sub(/ *:.*/, "", sect); gsub(/["\047]/, "", sect) }
        (sect == "firewalls" || sect == "load_balancers") \
            && match($0, /(^|[{, -])host *: *["\047]?[a-z0-9][a-z0-9_-]*/) {
            h = substr($0, RSTART, RLENGTH); sub(/.*host *: *["\047]?/, "", h); n[h]++
        }
        END { for (h in n) print h, n[h] }
    ' "$in" </dev/null)
    local h m k
    while read -r h m; do
        k=$(awk -v h="$h" '$1 == h { print $2 }' <<<"$nfvlist")
        [ -n "$h" ] && echo "${m:-0} ${k:-0}" >"$LAB_RUN/dpdk.new/$h"
    done <"$list"
    rm -f "$list"
    [ "$out" = /dev/null ] && out=$in
    echo "$out"
}

# lab_dpdk_commit: after the controller accepted the prepared file, its
# DPDK hosts become the lab's (new hosts start as such).  In DPDK mode,
# every host the controller knows must be a DPDK host.
lab_dpdk_commit() {
    local h
    [ -d "$LAB_RUN/dpdk.new" ] || return 0
    rm -rf "$LAB_RUN/dpdk"
    mv "$LAB_RUN/dpdk.new" "$LAB_RUN/dpdk"
    [ "$LAB_DPDK" = 1 ] || return 0
    for h in $(lab_show_json | jq -r '.hosts[].name'); do
        lab_dpdk_host "$h" || lab_die "DPDK mode: host $h got no dpdk: mapping (write hosts as a block list, or give $h a dpdk: mapping yourself)"
    done
}

# lab_hugetlbfs_mount: hugetlbfs on LAB_HUGE_DIR (mounted, and recorded in
# the run dir as ours, if nothing is mounted there).
lab_hugetlbfs_mount() {
    awk -v d="$LAB_HUGE_DIR" '$2 == d && $3 == "hugetlbfs" { f = 1 } END { exit !f }' \
        /proc/mounts && return 0
    mkdir -p "$LAB_HUGE_DIR"
    mount -t hugetlbfs nodev "$LAB_HUGE_DIR" || lab_die "cannot mount hugetlbfs on $LAB_HUGE_DIR"
    touch "$LAB_RUN/hugetlbfs-mounted"
    lab_log "mounted hugetlbfs on $LAB_HUGE_DIR"
}

# lab_hugepages_reserve HOST PAGES: adds PAGES 2 MiB pages to nr_hugepages
# for HOST's DPDK, adding to hugepages/HOST what was really added (the
# kernel may find fewer free pages); dies when that is short of PAGES.
lab_hugepages_reserve() {
    local h=$1 n=$2 f=$LAB_RUN/hugepages/$1 have=0 cur got added fd
    lab_hugetlbfs_mount
    mkdir -p "$LAB_RUN/hugepages"
    [ -f "$LAB_HUGE_SYS/nr_hugepages" ] || lab_die "this kernel offers no 2 MiB hugepages ($LAB_HUGE_SYS)"
    [ -f "$f" ] && have=$(cat "$f")
    exec {fd}>>"$LAB_HUGE_LOCK"
    flock "$fd"
    cur=$(cat "$LAB_HUGE_SYS/nr_hugepages")
    echo $(( cur + n )) >"$LAB_HUGE_SYS/nr_hugepages" 2>/dev/null || true
    got=$(cat "$LAB_HUGE_SYS/nr_hugepages")
    added=$(( got > cur ? got - cur : 0 ))
    echo $(( have + added )) >"$f"
    flock -u "$fd"
    exec {fd}>&-
    [ "$added" -ge "$n" ] \
        || lab_die "host $h: could add only $added of $n 2 MiB hugepages (nr_hugepages $cur -> $got); free memory or lower socket_mem"
    lab_log "host $h: DPDK, $n hugepages reserved (now $(( have + added )); nr_hugepages $cur -> $got)"
}

# lab_hugepages_topup HOST: after a sync, reserves what HOST's DPDK now
# needs beyond what the lab holds for it (anet-nfv instances placed on it
# later, a larger socket_mem); never shrinks (down gives everything back).
# Nothing for hosts the lab has not reserved for (new hosts reserve when
# they are created).
lab_hugepages_topup() {
    local h=$1 f=$LAB_RUN/hugepages/$1 need have
    [ -f "$f" ] || return 0
    need=$(lab_dpdk_pages "$h")
    have=$(cat "$f")
    [ "$need" -gt "$have" ] || return 0
    lab_hugepages_reserve "$h" $(( need - have ))
}

# lab_hugepages_release HOST: takes back from nr_hugepages what
# lab_hugepages_reserve added for HOST.
lab_hugepages_release() {
    local f=$LAB_RUN/hugepages/$1 n cur fd
    [ -f "$f" ] || return 0
    n=$(cat "$f")
    exec {fd}>>"$LAB_HUGE_LOCK"
    flock "$fd"
    cur=$(cat "$LAB_HUGE_SYS/nr_hugepages")
    echo $(( cur > n ? cur - n : 0 )) >"$LAB_HUGE_SYS/nr_hugepages" 2>/dev/null || true
    flock -u "$fd"
    exec {fd}>&-
    rm -f "$f"
}

# lab_dpdk_cleanup_host HOST: DPDK's files of HOST's ovs-vswitchd (prefix
# anet-HOST; the process must be gone).
lab_dpdk_cleanup_host() {
    rm -f "$LAB_HUGE_DIR/anet-$1"map_* 2>/dev/null || true
    rm -rf "/var/run/dpdk/anet-$1"
}

# lab_dpdk_wait_applied HOST: waits (at most 20 s) until HOST's agent has
# applied its desired state, i.e. DPDK is initialised and the underlay port
# created OVS-DPDK's mempool.  DPDK hosts start one after the other: while
# OVS sizes its mempool it tries 262144 mbufs first, and DPDK faults in
# hugepages beyond dpdk-socket-limit before it gives them back, so a host
# initialising at that moment finds no free page and aborts.
lab_dpdk_wait_applied() {
    local i
    for i in $(seq 80); do
        lab_show_json 2>/dev/null | jq -e --arg h "$1" '.hosts[] | select(.name == $h)
            | .connected == true and .applied_generation == .desired_generation' \
            >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    lab_log "host $1: DPDK not applied after 20 s (going on; see $LAB_RUN/agent-$1.log)"
}

# lab_dpdk_check_prefix HOST: refuses HOST when another lab's DPDK host of
# the same name (or any live process) uses the DPDK prefix anet-HOST;
# removes what a killed run left behind otherwise.
lab_dpdk_check_prefix() {
    local h=$1 d
    for d in /tmp/anet-*/; do
        [ "${d%/}" = "$LAB_RUN" ] && continue
        [ -f "$d/dpdk/$h" ] && [ -f "$d/hosts/$h" ] \
            && lab_die "host $h: lab $(basename "${d%/}" | sed 's/^anet-//') runs a DPDK host of that name (DPDK prefix anet-$h); take it down or rename the host"
    done
    if [ -e "/var/run/dpdk/anet-$h/config" ] \
       && fuser "/var/run/dpdk/anet-$h/config" >/dev/null 2>&1; then
        lab_die "host $h: a running process uses DPDK prefix anet-$h (fuser /var/run/dpdk/anet-$h/config)"
    fi
    lab_dpdk_cleanup_host "$h"
}

# lab_dpdk_down: lab_down's DPDK part (daemons already gone): every DPDK
# host's files and hugepages, and hugetlbfs if the lab mounted it and
# nothing uses it.
lab_dpdk_down() {
    local f
    for f in "$LAB_RUN"/dpdk/* "$LAB_RUN"/hugepages/*; do
        [ -f "$f" ] || continue
        lab_dpdk_cleanup_host "$(basename "$f")"
        lab_hugepages_release "$(basename "$f")"
    done
    if [ -f "$LAB_RUN/hugetlbfs-mounted" ] && [ -z "$(ls -A "$LAB_HUGE_DIR" 2>/dev/null)" ]; then
        umount "$LAB_HUGE_DIR" 2>/dev/null || true
    fi
}

# ---------------------------------------------------------------- workloads

# lab_plumb_port PORT HOST IFACE MAC IP MTU SWITCH [MODE [GW]]: the
# workload namespace (created once, kept across moves) and its veth: IFACE in
# HOST's namespace, eth0 in the workload's.  MODE "static" (default)
# configures IP and a default route via GW (the router port on SWITCH, if
# any); "dhcp" leaves eth0 without an address for lab_dhcp_port.
lab_plumb_port() {
    local p=$1 h=$2 ifc=$3 mac=$4 ip=$5 mtu=$6 sw=$7 mode=${8:-static} gw=${9:-} wns hns
    wns=$(lab_wl_ns "$p")
    hns=$(lab_host_ns "$h")
    [ "$mtu" -gt 0 ] 2>/dev/null || mtu=1400
    if ! ip netns list | awk '{print $1}' | grep -qx -- "$wns"; then
        ip netns add "$wns"
        echo "$wns" >>"$LAB_RUN/namespaces"
        ip -n "$wns" link set lo up
        # No IPv6: its router solicitations and MLD reports would flood
        # over the tunnels and blur the counters the tests read.
        ip netns exec "$wns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
    fi
    ip link add "$ifc" netns "$hns" mtu "$mtu" type veth \
        peer name eth0 netns "$wns" mtu "$mtu"
    [ -n "$mac" ] && ip -n "$wns" link set eth0 address "$mac"
    local addr=$ip
    if [ -n "$ip" ] && [ "${ip#*/}" = "$ip" ]; then
        lab_log "warning: port $p has no prefix length in show JSON ($ip); using /24"
        addr=$ip/24
    fi
    [ "$mode" = static ] && [ -n "$addr" ] && ip -n "$wns" addr add "$addr" dev eth0
    ip netns exec "$hns" ethtool -K "$ifc" tx off >/dev/null
    ip netns exec "$wns" ethtool -K eth0 tx off >/dev/null
    ip -n "$hns" link set "$ifc" up
    ip -n "$wns" link set eth0 up
    if [ "$mode" = static ] && [ -n "$addr" ] && [ -n "$gw" ]; then
        ip -n "$wns" route replace default via "$gw" dev eth0
    fi
    mkdir -p "$LAB_RUN/ports"
    rm -f "$LAB_RUN/leases/$p"
    printf '%s|%s|%s|%s|%s|%s|%s|%s\n' "$h" "$ifc" "$mac" "$ip" "$mtu" "$sw" "$mode" "$gw" \
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
    rm -f "$rec" "$LAB_RUN/leases/$p"
    if [ "${2:-}" != keep ]; then
        wns=$(lab_wl_ns "$p")
        for pid in $(ip netns pids "$wns" 2>/dev/null || true); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns delete "$wns" 2>/dev/null || true
        sed -i "/^$wns\$/d" "$LAB_RUN/namespaces"
    fi
}

# ---------------------------------------------------------------- outside

# lab_plumb_external NAME HOST IFACE ADDR MAC MTU: the outside namespace of
# external network NAME (created afresh) and its veth: IFACE in HOST's
# namespace, eth0 (ADDR = gateway_ip/plen, MAC = gateway_mac) outside.  Only
# the connected route: no route to the internal networks.
lab_plumb_external() {
    local x=$1 h=$2 ifc=$3 addr=$4 mac=$5 mtu=$6 xns hns
    xns=$(lab_ext_ns "$x")
    hns=$(lab_host_ns "$h")
    [ "$mtu" -gt 0 ] 2>/dev/null || mtu=1400
    ip netns add "$xns"
    echo "$xns" >>"$LAB_RUN/namespaces"
    ip -n "$xns" link set lo up
    ip netns exec "$xns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
    ip link add "$ifc" netns "$hns" mtu "$mtu" type veth \
        peer name eth0 netns "$xns" mtu "$mtu"
    [ -n "$mac" ] && ip -n "$xns" link set eth0 address "$mac"
    ip -n "$xns" addr add "$addr" dev eth0
    ip netns exec "$hns" ethtool -K "$ifc" tx off >/dev/null
    ip netns exec "$xns" ethtool -K eth0 tx off >/dev/null
    ip -n "$hns" link set "$ifc" up
    ip -n "$xns" link set eth0 up
    mkdir -p "$LAB_RUN/externals"
    printf '%s|%s|%s|%s|%s\n' "$h" "$ifc" "$addr" "$mac" "$mtu" \
        >"$LAB_RUN/externals/$x"
}

# lab_unplumb_external NAME: the veth (both ends) and the outside namespace,
# with anything still running in it.
lab_unplumb_external() {
    local x=$1 rec h ifc xns pid
    rec=$LAB_RUN/externals/$x
    [ -f "$rec" ] || return 0
    IFS='|' read -r h ifc _ <"$rec"
    ip -n "$(lab_host_ns "$h")" link delete "$ifc" 2>/dev/null || true
    xns=$(lab_ext_ns "$x")
    for pid in $(ip netns pids "$xns" 2>/dev/null || true); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns delete "$xns" 2>/dev/null || true
    sed -i "/^$xns\$/d" "$LAB_RUN/namespaces"
    rm -f "$rec"
}

# lab_ext_gw_ip NAME: the outside's address (gateway_ip, no prefix), from
# the lab's record.
lab_ext_gw_ip() { cut -d'|' -f3 "$LAB_RUN/externals/$1" | cut -d/ -f1; }

# ---------------------------------------------------------------- topology

# Hosts as "name|underlay_iface" lines, from show JSON on stdin.
lab_jq_hosts() {
    jq -r '.hosts[] | [.name, (.underlay_iface // "ul0")] | join("|")'
}

# Ports as "name|host|iface|mac|ip|mtu|switch|mode|gw" lines, from show JSON
# ('|', not a tab: read collapses runs of whitespace separators, and ip may
# be empty).  mode is "dhcp" for a port with "dhcp": true in DHCP mode, else
# "static"; gw is the IP of the first router port on the port's switch.
lab_jq_ports() {
    jq -r --arg dhcp "${LAB_DHCP:-0}" '(.routers // []) as $r | .hosts[] as $h | $h.ports[] |
        select((.kind // "workload") == "workload") |
        (.switch // "") as $sw |
        [.name, $h.name, (.iface // .name), (.mac // ""), (.ip // ""),
         ((if (.mtu // 0) > 0 then .mtu else 1400 end) | tostring), $sw,
         (if $dhcp == "1" and .dhcp == true and (.ip // "") != "" then "dhcp" else "static" end),
         ([$r[] | .ports[]? | select(.switch == $sw) | .ip | split("/")[0]] | first // "")]
        | join("|")'
}

# External networks as "name|host|iface|gateway_ip/plen|gateway_mac|mtu"
# lines, from show JSON on stdin (none when "external_networks" is absent).
# Only a configured gateway MAC is given to the outside namespace: one that
# anet learned by ARP came from that namespace in the first place (its
# kernel picked it), and must not make the lab re-plumb it.
lab_jq_externals() {
    jq -r '(.external_networks // [])[] |
        [.name, .host, (.iface // "ext0"),
         ((.gateway_ip // "") + "/" + ((.cidr // "/24") | split("/")[1])),
         (if .gateway_mac_learned == true then "" else (.gateway_mac // "") end),
         ((if (.mtu // 0) > 0 then .mtu else 1400 end) | tostring)]
        | join("|")'
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
    local json h ul p ph ifc mac ip mtu sw rec want x xh addr
    json=$(lab_show_json) || lab_die "anetctl show failed"
    mkdir -p "$LAB_RUN/hosts" "$LAB_RUN/ports"
    # What the lab was built from: lab_matrix's expectation reads it (also
    # while the controller is down).
    printf '%s\n' "$json" >"$LAB_RUN/show.json"
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
    # External networks that went away or changed (host, iface, address,
    # MAC, MTU): their outside namespace goes, to be created again below.
    for rec in "$LAB_RUN"/externals/*; do
        [ -f "$rec" ] || continue
        x=$(basename "$rec")
        want=$(lab_jq_externals <<<"$json" | awk -F'|' -v x="$x" '$1 == x' \
               | cut -d'|' -f2-)
        if [ "$want" != "$(cat "$rec")" ]; then
            lab_log "external network $x: $([ -z "$want" ] && echo removed || echo changed)"
            lab_unplumb_external "$x"
        fi
    done
    while IFS='|' read -r x xh ifc addr mac mtu; do
        [ -n "$x" ] || continue
        [ -f "$LAB_RUN/externals/$x" ] && continue
        if [ ! -f "$LAB_RUN/hosts/$xh" ]; then
            lab_log "warning: external network $x: gateway host '$xh' is not in the lab; no outside namespace"
            continue
        fi
        lab_log "external network $x: outside namespace $(lab_ext_ns "$x") ($addr, $mac) on $xh as $ifc"
        lab_plumb_external "$x" "$xh" "$ifc" "$addr" "$mac" "$mtu"
    done < <(lab_jq_externals <<<"$json")
    while IFS='|' read -r p ph ifc mac ip mtu sw mode gw; do
        [ -n "$p" ] || continue
        [ -f "$LAB_RUN/ports/$p" ] && continue
        lab_log "port $p: on $ph as $ifc ($ip${gw:+ via $gw}, $mac, switch $sw$([ "$mode" = dhcp ] && echo ", address by DHCP"))"
        lab_plumb_port "$p" "$ph" "$ifc" "$mac" "$ip" "$mtu" "$sw" "$mode" "$gw"
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
            and all(.ports[]; .up == true))' >/dev/null 2>&1 \
        && lab_dpdk_polled
}

# lab_dpdk_polled: every DPDK host's PMD polls its underlay and workload
# ports (dpif-netdev/pmd-rxq-show lists them enabled).  A port OVS has
# opened is not forwarding until a PMD took its queue; on a busy machine
# that lags behind "up" by seconds.
lab_dpdk_polled() {
    local rec h i ul ifc rxq
    for rec in "$LAB_RUN"/hosts/*; do
        [ -f "$rec" ] || continue
        h=$(basename "$rec")
        lab_dpdk_host "$h" || continue
        read -r i ul <"$rec"
        rxq=$(ovs-appctl -t "$LAB_RUN/$h/ovs-vswitchd.ctl" dpif-netdev/pmd-rxq-show 2>/dev/null) || return 1
        grep -Eq "port: $ul +queue-id: +[0-9]+ \(enabled\)" <<<"$rxq" || return 1
        for ifc in $(cat "$LAB_RUN"/ports/* 2>/dev/null | awk -F'|' -v h="$h" '$1 == h { print $2 }'); do
            grep -Eq "port: $ifc +queue-id: +[0-9]+ \(enabled\)" <<<"$rxq" || return 1
        done
    done
    return 0
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

# ---------------------------------------------------------------- DHCP

# lab_dhcp_script: writes the udhcpc event script into the run dir (udhcpc
# has no built-in configuration; busybox's default script path does not
# exist here).  It applies address, mask, MTU, classless routes and the
# default route, and records the lease as "ip/plen|router|mtu|dns|lease|
# staticroutes" in $LAB_LEASE_FILE.
lab_dhcp_script() {
    local f=$LAB_RUN/udhcpc.sh
    [ -x "$f" ] && return 0
    cat >"$f" <<'SCRIPT'
#!/bin/sh
# udhcpc event script of the anet lab (written by scripts/lab-lib.sh).
# $1: deconfig | bound | renew | nak | leasefail; udhcpc passes the lease in
# the environment (interface ip subnet mask router mtu dns lease staticroutes).
case $1 in
deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    plen=${mask:-}
    if [ -z "$plen" ]; then
        plen=0
        for o in $(echo "$subnet" | tr . ' '); do
            case $o in
                255) plen=$((plen + 8)) ;; 254) plen=$((plen + 7)) ;;
                252) plen=$((plen + 6)) ;; 248) plen=$((plen + 5)) ;;
                240) plen=$((plen + 4)) ;; 224) plen=$((plen + 3)) ;;
                192) plen=$((plen + 2)) ;; 128) plen=$((plen + 1)) ;;
            esac
        done
    fi
    ip addr flush dev "$interface"
    ip addr add "$ip/$plen" dev "$interface"
    [ -n "${mtu:-}" ] && ip link set "$interface" mtu "$mtu"
    gw=${router%% *}
    [ -n "$gw" ] && ip route replace default via "$gw" dev "$interface"
    # Option 121: "prefix/plen gateway" pairs.
    set -- ${staticroutes:-}
    while [ $# -ge 2 ]; do
        ip route replace "$1" via "$2" dev "$interface"
        shift 2
    done
    if [ -n "${LAB_LEASE_FILE:-}" ]; then
        printf '%s|%s|%s|%s|%s|%s\n' "$ip/$plen" "$gw" "${mtu:-}" "${dns:-}" \
            "${lease:-}" "${staticroutes:-}" >"$LAB_LEASE_FILE"
    fi
    ;;
esac
exit 0
SCRIPT
    chmod 755 "$f"
}

# lab_dhcp_lease PORT: the lease the workload got, "ip/plen|router|mtu|dns|
# lease|staticroutes" (empty when it has none).
lab_dhcp_lease() { cat "$LAB_RUN/leases/$1" 2>/dev/null || true; }

# lab_dhcp_port PORT: drops eth0's address and runs busybox udhcpc in the
# workload (5 discovers, 1 s apart), then checks that the lease is the port's
# configured IP/plen, its switch's router port as gateway and its MTU.
# Returns 1 (and says why) otherwise.  The client's log: run dir dhcp-PORT.log.
lab_dhcp_port() {
    local p=$1 h ifc mac ip mtu sw mode gw wns lease lip lgw lmtu rc=0
    IFS='|' read -r h ifc mac ip mtu sw mode gw <"$LAB_RUN/ports/$p"
    wns=$(lab_wl_ns "$p")
    lab_dhcp_script
    mkdir -p "$LAB_RUN/leases"
    rm -f "$LAB_RUN/leases/$p"
    ip -n "$wns" addr flush dev eth0
    if ! ip netns exec "$wns" env LAB_LEASE_FILE="$LAB_RUN/leases/$p" \
            busybox udhcpc -f -i eth0 -n -q -t 5 -T 1 -s "$LAB_RUN/udhcpc.sh" \
            -O mtu -O staticroutes >"$LAB_RUN/dhcp-$p.log" 2>&1; then
        lab_log "port $p: no DHCP lease ($(tail -n 1 "$LAB_RUN/dhcp-$p.log"))"
        return 1
    fi
    lease=$(lab_dhcp_lease "$p")
    IFS='|' read -r lip lgw lmtu _ <<<"$lease"
    [ "${ip#*/}" != "$ip" ] || lip=${lip%/*}
    if [ "$lip" != "$ip" ]; then
        lab_log "port $p: DHCP leased $lip, configured $ip"; rc=1
    fi
    if [ "$lgw" != "$gw" ]; then
        lab_log "port $p: DHCP gateway '$lgw', expected '$gw'"; rc=1
    fi
    if [ "$lmtu" != "$mtu" ]; then
        lab_log "port $p: DHCP MTU '$lmtu', expected '$mtu'"; rc=1
    fi
    [ $rc = 0 ] && lab_log "port $p: DHCP lease $lip${lgw:+ via $lgw} mtu $lmtu"
    return $rc
}

# lab_dhcp_all: runs lab_dhcp_port (in parallel) for every port plumbed in
# DHCP mode that has no lease yet.  Returns 1 if any failed.
lab_dhcp_all() {
    local rec p mode pids=() names=() i rc=0
    for rec in "$LAB_RUN"/ports/*; do
        [ -f "$rec" ] || continue
        p=$(basename "$rec")
        mode=$(cut -d'|' -f7 "$rec")
        [ "$mode" = dhcp ] && [ ! -s "$LAB_RUN/leases/$p" ] || continue
        lab_dhcp_port "$p" &
        pids+=($!)
        names+=("$p")
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || rc=1
    done
    [ ${#pids[@]} -eq 0 ] || lab_log "DHCP: ${#pids[@]} port(s) ($(echo "${names[@]}"))$([ $rc = 0 ] && echo ", all leases as configured" || echo ", FAILED")"
    return $rc
}

# ---------------------------------------------------------------- flow counts

# lab_flow_counts: per-host OpenFlow flow counts (n_flows in show JSON) and
# the total, as a Markdown table (the README reports them per example).
lab_flow_counts() {
    lab_show_json | jq -r '
        "| host | ports | flows |", "|------|------:|------:|",
        (.hosts[] | "| \(.name) | \(.ports | length) | \(.n_flows) |"),
        "| total | \([.hosts[].ports | length] | add // 0) | \([.hosts[].n_flows] | add // 0) |"'
}

# ---------------------------------------------------------------- reachability

# The routing model behind the expected matrix (a jq program over show
# JSON).  A workload sends off-subnet traffic to its gateway, the first
# router with a port on its switch.  A router takes its longest-prefix route
# (connected routes: its ports' networks, winning a tie against a static
# route of the same length): a connected route delivers if the destination
# is a workload on that switch; a static route hands the packet to the
# router that owns the next hop on one of its connected networks (at most 16
# routers: loops end as unreachable).  Prints "A B ROUTERS" for every
# ordered pair of workloads with IPs on different switches that reach each
# other both ways (the request and its reply), ROUTERS = routers on the way
# from A to B.
LAB_JQ_REACH='
def ip2n: split(".") | map(tonumber) | ((.[0] * 256 + .[1]) * 256 + .[2]) * 256 + .[3];
def addr: split("/") | {ip: .[0], n: (.[0] | ip2n), plen: ((.[1] // "24") | tonumber)};
def netof($n; $plen): if $plen == 0 then 0 else ($n / pow(2; 32 - $plen) | floor) end;
def inpfx($n; $p; $plen): netof($n; $plen) == netof($p; $plen);
. as $j
| [$j.hosts[]?.ports[]? | select((.ip // "") != "" and (.kind // "workload") == "workload") | {name, sw: .switch} + (.ip | addr)] as $ports
| [($j.routers // [])[] | {name,
     ports: [.ports[]? | {sw: .switch} + (.ip | addr)],
     routes: [.routes[]? | (.prefix | addr) as $p | {p: $p.n, plen: $p.plen, nh: (.next_hop | ip2n)}]}]
  as $routers
| def lookup($r; $d):
    ([$r.ports[] | select(inpfx($d; .n; .plen)) | {pri: (.plen * 2 + 1), conn: true, sw}]
     + [$r.routes[] | select(inpfx($d; .p; .plen)) | {pri: (.plen * 2), conn: false, nh}])
    | max_by(.pri);
  def via($r; $d; $hops):
    if $hops > 16 then null
    else lookup($r; $d) as $rt
    | if $rt == null then null
      elif $rt.conn then
        (if any($ports[]; .sw == $rt.sw and .n == $d) then $hops else null end)
      else
        ([$r.ports[] | select(inpfx($rt.nh; .n; .plen)) | .sw] | first) as $esw
        | ([$routers[] | select(.name != $r.name)
            | select(any(.ports[]; .sw == $esw and .n == $rt.nh))] | first) as $next
        | if $esw == null or $next == null then null else via($next; $d; $hops + 1) end
      end
    end;
  def fwd($a; $b):
    if inpfx($b.n; $a.n; $a.plen) then null
    else ([$routers[] | select(any(.ports[]; .sw == $a.sw))] | first) as $gw
    | if $gw == null then null else via($gw; $b.n; 1) end
    end;
  $ports[] as $a | $ports[] as $b
  | select($a.name != $b.name and $a.sw != $b.sw)
  | fwd($a; $b) as $h | fwd($b; $a) as $back
  | select($h != null and $back != null)
  | "\($a.name) \($b.name) \($h)"
'

# lab_expect_reach [SHOW_JSON_FILE]: "A B ROUTERS" lines per LAB_JQ_REACH,
# from the show JSON the lab was last reconciled with (default).
lab_expect_reach() {
    local f=${1:-$LAB_RUN/show.json}
    [ -s "$f" ] || return 0
    jq -r "$LAB_JQ_REACH" "$f"
}

# lab_expect_hops A B: routers on the expected path from A to B (0 on one
# switch, empty when B is expected unreachable from A).
lab_expect_hops() {
    if [ "$(cut -d'|' -f6 "$LAB_RUN/ports/$1")" = "$(cut -d'|' -f6 "$LAB_RUN/ports/$2")" ]; then
        echo 0
    else
        lab_expect_reach | awk -v a="$1" -v b="$2" '$1 == a && $2 == b { print $3 }'
    fi
}

# The outside model (a jq program over show JSON): "PORT NETWORK" for every
# workload with an IP whose default gateway (the first router with a port
# on its switch, as lab_jq_ports) has a gateway on external network NETWORK
# and translates the workload's traffic: its switch is in the router's
# "snat" (switch names, or objects with "switch"), or the router has a
# floating IP for the port.  Routers without "gateway" add nothing.
LAB_JQ_OUTSIDE='
. as $j | ($j.routers // []) as $rs
| $j.hosts[]?.ports[]? | select((.ip // "") != "") | . as $p
| ([$rs[] | select(any(.ports[]?; .switch == $p.switch))] | first) as $r
| select($r != null and ($r.gateway // null) != null)
| select(any(($r.snat // [])[]; (if type == "object" then .switch else . end) == $p.switch)
         or any(($r.floating_ips // [])[]; .port == $p.name))
| "\($p.name) \($r.gateway.network)"
'

# lab_expect_outside [SHOW_JSON_FILE]: "PORT NETWORK" lines per
# LAB_JQ_OUTSIDE, from the show JSON the lab was last reconciled with.
lab_expect_outside() {
    local f=${1:-$LAB_RUN/show.json}
    [ -s "$f" ] || return 0
    jq -r "$LAB_JQ_OUTSIDE" "$f"
}

# lab_matrix: the east-west matrix, then (when the lab has external
# networks) the outside one.  Returns 1 if either differs from expected.
lab_matrix() {
    local rc=0
    lab_matrix_east_west || rc=1
    if ls "$LAB_RUN"/externals/* >/dev/null 2>&1; then
        echo
        lab_matrix_outside || rc=1
    fi
    return $rc
}

# lab_matrix_outside: pings every outside (its gateway_ip) from every
# workload with an IP (in parallel; 3 pings, so that ARP on the outside
# and a first conntrack entry may cost one), prints expected
# (lab_expect_outside) vs observed, returns 1 on any difference.
lab_matrix_outside() {
    local tmp names=() xs=() n m i j rec expect rc=0 pids=() cell row got
    local ok=0 okexp=0 leak=0 isoexp=0
    tmp=$(mktemp -d)
    expect=$(lab_expect_outside)
    for rec in "$LAB_RUN"/ports/*; do
        [ -f "$rec" ] || continue
        [ -n "$(cut -d'|' -f4 "$rec")" ] || continue
        names+=("$(basename "$rec")")
    done
    for rec in "$LAB_RUN"/externals/*; do
        [ -f "$rec" ] && xs+=("$(basename "$rec")")
    done
    n=${#names[@]}
    m=${#xs[@]}
    for ((i = 0; i < n; i++)); do
        for ((j = 0; j < m; j++)); do
            ip netns exec "$(lab_wl_ns "${names[$i]}")" \
                ping -q -n -c 3 -i 0.3 -W 1 "$(lab_ext_gw_ip "${xs[$j]}")" \
                >"$tmp/$i-$j" 2>&1 &
            pids+=($!)
        done
    done
    [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}" || true
    printf '%-12s' "to outside:"
    for ((j = 0; j < m; j++)); do printf ' %-10s' "${xs[$j]:0:10}"; done
    echo
    for ((i = 0; i < n; i++)); do
        row=$(printf '%-12s' "${names[$i]:0:12}")
        for ((j = 0; j < m; j++)); do
            got=0
            grep -Eq ' [1-9][0-9]* (packets )?received' "$tmp/$i-$j" && got=1
            if grep -qx -- "${names[$i]} ${xs[$j]}" <<<"$expect"; then
                okexp=$((okexp + 1))
                if [ $got = 1 ]; then ok=$((ok + 1)); cell=ok; else cell=FAIL; rc=1; fi
            else
                isoexp=$((isoexp + 1))
                if [ $got = 1 ]; then leak=$((leak + 1)); cell=LEAK; rc=1; else cell=--; fi
            fi
            row+=$(printf ' %-10s' "$cell")
        done
        echo "$row"
    done
    rm -rf "$tmp"
    echo "(ok = reaches the outside's gateway_ip as expected: router gateway + snat or floating IP; -- = no way out, as expected)"
    local verdict=OK
    [ $rc = 0 ] || verdict=MISMATCH
    echo "outside: $ok/$okexp expected workload->outside pairs reachable, $leak/$isoexp unexpected ones reachable — $verdict"
    return $rc
}

# lab_matrix_east_west: pings every ordered pair of workloads with an IP (in
# parallel), prints expected vs observed, returns 1 on any difference.
# Expected reachable: same switch, or routed both ways (lab_expect_reach).
lab_matrix_east_west() {
    local tmp names=() ips=() sws=() n i j ok=0 okexp=0 leak=0 isoexp=0
    local rec h ifc mac ip mtu sw row cell rc=0 pids=() routed filtered pol=0
    tmp=$(mktemp -d)
    routed=$(lab_expect_reach)
    # Ports carrying security groups: whether a pair reaches is up to the
    # policy, which the lab does not model (the e2e tests assert it).
    filtered=" $(lab_show_json 2>/dev/null | jq -r '[.hosts[].ports[]
        | select(((.security_groups // []) | length) > 0) | .name] | join(" ")' 2>/dev/null) "
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
    # An expected pair that got no reply is tried once more with 3 pings:
    # OVS drops the first packets towards a tunnel endpoint it has not
    # resolved yet (it ARPs for it on br-phy), which on a busy machine can
    # outlast the 2 pings above.  A broken path stays silent.
    pids=()
    for ((i = 0; i < n; i++)); do
        for ((j = 0; j < n; j++)); do
            [ $i = $j ] && continue
            [[ $filtered == *" ${names[$i]} "* || $filtered == *" ${names[$j]} "* ]] && continue
            [ "${sws[$i]}" = "${sws[$j]}" ] || grep -q "^${names[$i]} ${names[$j]} " <<<"$routed" || continue
            grep -Eq ' [1-9][0-9]* (packets )?received' "$tmp/$i-$j" && continue
            ip netns exec "$(lab_wl_ns "${names[$i]}")" \
                ping -q -n -c 3 -i 0.3 -W 1 "${ips[$j]}" >>"$tmp/$i-$j" 2>&1 &
            pids+=($!)
        done
    done
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
                if [[ $filtered == *" ${names[$i]} "* || $filtered == *" ${names[$j]} "* ]]; then
                    pol=$((pol + 1))
                    if [ $got = 1 ]; then cell=sg:ok; else cell=sg:--; fi
                elif [ "${sws[$i]}" = "${sws[$j]}" ] \
                   || grep -q "^${names[$i]} ${names[$j]} " <<<"$routed"; then
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
    echo "(ok = reachable as expected, -- = isolated as expected, FAIL = expected reachable but not, LEAK = expected isolated but reachable$([ $pol -gt 0 ] && echo "; sg: = governed by security groups, shown as observed"))"
    local verdict=OK
    [ $rc = 0 ] || verdict=MISMATCH
    echo "reachability: $ok/$okexp expected pairs reachable, $leak/$isoexp isolated pairs leaked$([ $pol -gt 0 ] && echo ", $pol pairs governed by security groups") — $verdict"
    return $rc
}
