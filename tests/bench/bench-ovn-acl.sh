#!/bin/bash
# bench-ovn-acl.sh — issue 5's benchmark row, OVN side: the same 10k
# security group rules across 1k ports as ACLs in OVN.
#
# What: starts OVN's northbound and southbound ovsdb-servers and ovn-northd
# in a private run dir (/tmp/anet-bovnacl-PID) and loads what bench-sg
# compiles (anet-bench-gen --sg RULES N_PORTS: 20 ports per switch, 100
# per host, 100 groups): the logical switches and their ports (addressed
# "MAC IP" with anet's derived MAC), one Port_Group per anet group with its
# member ports, and every rule as an ACL on that port group the way
# OpenStack Neutron writes them:
#   ingress  to-lport,   "outport == @GROUP && ip4 && ip4.src == ... && ..."
#   egress   from-lport, "inport == @GROUP && ip4 && ip4.dst == ... && ..."
#   remote_cidrs  {a, b, ...};  remote_group  $GROUP_ip4 (the address set
#   northd derives from the port group);  ports  tcp.dst == N or
#   tcp.dst >= A && tcp.dst <= B;  icmp  icmp4 [&& icmp4.type/code == ...]
#   allow -> allow-related, deny -> drop, reject -> reject
#   priority 2000 + (rules in the direction - index): descending in rule
#   order, within the group (OVN ranks ACLs across groups by priority
#   alone, so the first-match-per-group semantics are approximate; the
#   load on northd and ovn-controller is what is compared);
# plus Neutron's default drop: a port group pg_drop of every filtered
# port with one drop ACL per direction at priority 1001.
# It measures
#   a. a full recompute of ovn-northd (inc-engine/recompute, then
#      `ovn-nbctl --wait=sb sync`: wall time until the SB DB has it; and
#      northd's own stopwatches ovnnb_db_run + build_lflows, the two engine
#      nodes of a recompute; SHOW_STOPWATCHES=1 prints them all), the
#      logical flows in the SB DB (in total and in the ACL stages
#      ls_in_acl / ls_out_acl);
#   b. one chassis: a private ovsdb-server + ovs-vswitchd
#      (datapath_type=netdev, --enable-dummy) with br-int holding that
#      host's ports as dummy interfaces (external_ids:iface-id), and
#      ovn-controller against it and the SB DB: the time from its start
#      until `ovn-nbctl --wait=hv sync` returns (ports claimed, flows
#      installed) and the OpenFlow flows it installed in br-int.  Skip it
#      with NO_CHASSIS=1.
# anet's figures for the same topology come from bench-sg; scripts/bench
# puts them side by side.
#
# Design: the NB contents go in as one OVSDB transaction over the unix
# socket (a short python3 JSON-RPC client reading the generated YAML with
# python3-yaml), as bench-ovn.sh does.
#
# Output: human-readable lines plus "RESULT key=value" lines.  Exits non-zero
# only when something breaks.  Every daemon and the run dir are removed on
# exit, also on failure or interrupt.
#
# Usage: bench-ovn-acl.sh ANET_BENCH_GEN [N_PORTS [N_RULES]]
#        (default 1000 ports, 10000 rules)
set -euo pipefail

GEN=${1:?usage: bench-ovn-acl.sh ANET_BENCH_GEN [N_PORTS [N_RULES]]}
N=${2:-1000}
RULES=${3:-10000}
REPS=3
CHASSIS=hv0000
D=/tmp/anet-bovnacl-$$

die() { echo "bench-ovn-acl: error: $*" >&2; exit 1; }

# shellcheck source=ovn-lib.sh
. "$(dirname "$0")/ovn-lib.sh"

cleanup() {
    ovn_kill_pidfiles 5 "$D"/controller.pid "$D"/vswitchd.pid "$D"/ovsdb.pid \
        "$D"/northd.pid "$D"/sb.pid "$D"/nb.pid
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v ovn-northd >/dev/null || die "ovn-northd not installed (apt-get install ovn-central)"
python3 -c 'import yaml' 2>/dev/null || die "python3-yaml not installed"
[ -x "$GEN" ] || die "no anet-bench-gen at $GEN"

ovn_start_central "$D"

# --- load the topology ----------------------------------------------------
"$GEN" --sg "$RULES" "$N" 20 100 >"$D/topo.yaml"
t0=$(now_ms)
ANET_BENCH_DIR=$(dirname "$0") PYTHONDONTWRITEBYTECODE=1 python3 - "$D/topo.yaml" "$D/nb.sock" "$CHASSIS" "$D/chassis-ports" <<'EOF' || die "loading the NB DB failed"
import os, sys, yaml

def mac_of(name):
    # anet's derived MAC (controller/topo.c): 0a + the low 40 bits of the
    # 64-bit FNV-1a of the port name.
    h = 14695981039346656037
    for c in name.encode():
        h ^= c
        h = (h * 1099511628211) & 0xffffffffffffffff
    m = (0x0a << 40) | (h & 0xffffffffff)
    return ":".join("%02x" % ((m >> s) & 0xff) for s in range(40, -8, -8))

def acl_match(group, direction, r):
    to = direction == "ingress"
    m = ["%s == @%s" % ("outport" if to else "inport", group), "ip4"]
    peer = "ip4.src" if to else "ip4.dst"
    if "remote_cidrs" in r:
        c = r["remote_cidrs"]
        m.append("%s == %s" % (peer, c[0] if len(c) == 1
                               else "{" + ", ".join(c) + "}"))
    elif "remote_group" in r:
        m.append("%s == $%s_ip4" % (peer, r["remote_group"]))
    proto = r.get("protocol", "any")
    if proto in ("tcp", "udp"):
        m.append(proto)
        if "ports" in r:
            p = str(r["ports"])
            if "-" in p:
                lo, hi = p.split("-")
                m.append("%s.dst >= %s && %s.dst <= %s" % (proto, lo, proto, hi))
            else:
                m.append("%s.dst == %s" % (proto, p))
    elif proto == "icmp":
        m.append("icmp4")
        if "icmp_type" in r:
            m.append("icmp4.type == %d" % r["icmp_type"])
        if "icmp_code" in r:
            m.append("icmp4.code == %d" % r["icmp_code"])
    return " && ".join(m)

ACTIONS = {"allow": "allow-related", "deny": "drop", "reject": "reject"}
topo = yaml.load(open(sys.argv[1]), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
ops = ["OVN_Northbound"]
switches, members, filtered, local = {}, {}, [], []
for p in topo["ports"]:
    switches.setdefault(p["switch"], []).append(p)
    for g in p.get("security_groups", []):
        members.setdefault(g, []).append(p["name"])
    if p.get("security_groups"):
        filtered.append(p["name"])
    if p["host"] == sys.argv[3]:
        local.append(p["name"])
for sw, ports in switches.items():
    for p in ports:
        ops.append({"op": "insert", "table": "Logical_Switch_Port",
                    "uuid-name": "u" + p["name"],
                    "row": {"name": p["name"], "addresses":
                            ["set", ["%s %s" % (mac_of(p["name"]), p["ip"])]]}})
    ops.append({"op": "insert", "table": "Logical_Switch",
                "row": {"name": sw, "ports": ["set", [["named-uuid", "u" + p["name"]]
                                                      for p in ports]]}})
n_acls = 0
def add_acl(direction, priority, match, action):
    global n_acls
    n_acls += 1
    name = "a%d" % n_acls
    ops.append({"op": "insert", "table": "ACL", "uuid-name": name,
                "row": {"direction": direction, "priority": priority,
                        "match": match, "action": action}})
    return ["named-uuid", name]

def add_group(name, ports, acls):
    ops.append({"op": "insert", "table": "Port_Group",
                "row": {"name": name,
                        "ports": ["set", [["named-uuid", "u" + p] for p in ports]],
                        "acls": ["set", acls]}})

n_rules = 0
for g in topo["security_groups"]:
    acls = []
    for direction, ovn_dir in (("ingress", "to-lport"), ("egress", "from-lport")):
        rules = g.get(direction) or []
        for k, r in enumerate(rules):
            acls.append(add_acl(ovn_dir, 2000 + len(rules) - k,
                                acl_match(g["name"], direction, r),
                                ACTIONS[r.get("action", "allow")]))
            n_rules += 1
    add_group(g["name"], members.get(g["name"], []), acls)
add_group("pg_drop", filtered,
          [add_acl("to-lport", 1001, "outport == @pg_drop && ip", "drop"),
           add_acl("from-lport", 1001, "inport == @pg_drop && ip", "drop")])
with open(sys.argv[4], "w") as f:
    f.write("\n".join(local) + "\n")

sys.path.insert(0, os.environ["ANET_BENCH_DIR"])
from ovsdb_transact import transact
transact(sys.argv[2], ops)
print("  loaded %d switches, %d ports, %d port groups, %d ACLs (%d rules "
      "+ 2 default drops) into the NB DB" % (len(switches), len(topo["ports"]),
      len(topo["security_groups"]) + 1, n_acls, n_rules))
EOF
"${NB[@]}" --wait=sb sync || die "northd did not catch up after loading"
t1=$(now_ms)
n_acl=$("${NB[@]}" --format=csv --no-headings --columns=_uuid list ACL | wc -l)
n_lsp=$("${NB[@]}" --format=csv --no-headings --columns=_uuid list Logical_Switch_Port | wc -l)
[ "$n_lsp" -eq "$N" ] || die "NB holds $n_lsp ports, expected $N"
[ "$n_acl" -eq $((RULES + 2)) ] || die "NB holds $n_acl ACLs, expected $((RULES + 2))"
echo "OVN $(ovn-northd --version | head -n1 | awk '{print $NF}') ACLs side by side: $n_lsp ports, $n_acl ACLs (load + first northd run $((t1 - t0)) ms)"

# --- (a) full recompute ---------------------------------------------------
"${NORTHD[@]}" stopwatch/reset >/dev/null 2>&1 || true
walls=()
for _ in $(seq $REPS); do
    t0=$(now_ms)
    "${NORTHD[@]}" inc-engine/recompute >/dev/null || die "inc-engine/recompute failed"
    "${NB[@]}" --wait=sb sync || die "ovn-nbctl --wait=sb sync failed"
    t1=$(now_ms)
    walls+=($((t1 - t0)))
done
rec_best=$(printf '%s\n' "${walls[@]}" | best)
rec_med=$(printf '%s\n' "${walls[@]}" | median)
"${SB[@]}" --format=csv --no-headings --columns=external_ids list Logical_Flow >"$D/lflows"
n_lflows=$(wc -l <"$D/lflows")
n_acl_lflows=$(grep -cE 'stage-name=ls_(in|out)_acl[,}]' "$D/lflows" || true)
[ "$n_lflows" -gt 0 ] || die "no logical flows in the SB DB"
[ "$n_acl_lflows" -gt 0 ] || die "no ACL logical flows in the SB DB"

# northd's own figures (averages over the recomputes above; the
# stopwatches were reset before them).  In OVN 23.03 a full recompute is
# two engine nodes: northd (stopwatch ovnnb_db_run) and lflow (build_lflows,
# which includes writing the logical flows to the SB DB's IDL); their sum
# is northd's compute time, the wall time adds the SB ovsdb-server commit.
sw_avg() {
    "${NORTHD[@]}" stopwatch/show "$1" 2>/dev/null \
        | awk -F: '/Short term average/ {gsub(/[^0-9.]/, "", $2); print $2; exit}'
}
[ -n "${SHOW_STOPWATCHES:-}" ] && "${NORTHD[@]}" stopwatch/show
nb_run_ms=$(sw_avg ovnnb_db_run)
lflows_ms=$(sw_avg build_lflows)
northd_ms=""
if [ -n "$nb_run_ms" ] && [ -n "$lflows_ms" ]; then
    northd_ms=$(awk -v a="$nb_run_ms" -v b="$lflows_ms" 'BEGIN { printf "%.1f", a + b }')
fi

echo "  northd full recompute until SB has it: best $rec_best ms, median $rec_med ms (wall, $REPS runs)"
if [ -n "$northd_ms" ]; then
    echo "  northd's own stopwatches (average of $REPS): ovnnb_db_run $nb_run_ms ms + build_lflows $lflows_ms ms = $northd_ms ms"
fi
echo "  logical flows in the SB DB: $n_lflows, of which $n_acl_lflows in ls_in_acl / ls_out_acl"
npid=$(cat "$D/northd.pid")
echo "  ovn-northd: VmHWM $(mem_kb "$npid" VmHWM) KiB"

echo "RESULT ovn_acl_rules=$RULES"
echo "RESULT ovn_acl_sb_ms=$rec_best"
[ -n "$northd_ms" ] && echo "RESULT ovn_acl_northd_ms=$northd_ms"
echo "RESULT ovn_acl_lflows=$n_lflows"
echo "RESULT ovn_acl_acl_lflows=$n_acl_lflows"
echo "RESULT ovn_acl_northd_hwm_kb=$(mem_kb "$npid" VmHWM)"

# --- (b) one chassis: ovn-controller's OpenFlow flows -------------------------
if [ "${NO_CHASSIS:-0}" = 1 ]; then
    echo "  chassis figure skipped (NO_CHASSIS=1)"
    exit 0
fi
ovsdb-tool create "$D/ovs.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$D/ovs.db" --remote="punix:$D/ovs.sock" --pidfile="$D/ovsdb.pid" \
    --unixctl="$D/ovsdb.ctl" --log-file="$D/ovsdb.log" --detach </dev/null 2>>"$D/start.log" \
    || die "cannot start the OVS ovsdb-server"
VSCTL=(ovs-vsctl --db="unix:$D/ovs.sock" --timeout=60)
"${VSCTL[@]}" --no-wait init
ovs-vswitchd "unix:$D/ovs.sock" --enable-dummy --pidfile="$D/vswitchd.pid" \
    --unixctl="$D/vswitchd.ctl" --log-file="$D/vswitchd.log" --detach </dev/null 2>>"$D/start.log" \
    || die "cannot start ovs-vswitchd"
"${VSCTL[@]}" -- set Open_vSwitch . external_ids:system-id=$CHASSIS \
    external_ids:ovn-remote="unix:$D/sb.sock" external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip=127.0.0.1 external_ids:ovn-bridge-datapath-type=netdev \
    -- add-br br-int -- set Bridge br-int datapath_type=netdev fail_mode=secure \
    other_config:disable-in-band=true
args=()
n_local=0
while read -r p; do
    [ -n "$p" ] || continue
    args+=(-- add-port br-int "$p" -- set Interface "$p" type=dummy external_ids:iface-id="$p")
    n_local=$((n_local + 1))
done <"$D/chassis-ports"
[ "$n_local" -gt 0 ] || die "no port on chassis $CHASSIS"
"${VSCTL[@]}" "${args[@]}" || die "cannot add the chassis ports"

t0=$(now_ms)
ovn-controller "unix:$D/ovs.sock" --pidfile="$D/controller.pid" \
    --log-file="$D/controller.log" --detach \
    </dev/null 2>>"$D/start.log" \
    || die "cannot start ovn-controller: $(tail -n 3 "$D/start.log" "$D/controller.log" 2>&1)"
"${NB[@]}" --wait=hv sync || die "ovn-controller did not catch up (see $D/controller.log)"
t1=$(now_ms)
n_up=$("${NB[@]}" --format=csv --no-headings --columns=up list Logical_Switch_Port | grep -c true || true)
n_of=$(ovs-ofctl -O OpenFlow15 dump-aggregate br-int | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p')
[ -n "$n_of" ] && [ "$n_of" -gt 0 ] || die "no OpenFlow flows in br-int"
n_conj=$(ovs-ofctl -O OpenFlow15 dump-flows br-int | grep -c 'conjunction(' || true)
cpid=$(cat "$D/controller.pid")
echo "  chassis $CHASSIS ($n_local ports, $n_up up): ovn-controller start until --wait=hv: $((t1 - t0)) ms; OpenFlow flows in br-int: $n_of ($n_conj with conjunction actions); ovn-controller VmHWM $(mem_kb "$cpid" VmHWM) KiB"
echo "RESULT ovn_acl_of_flows_per_chassis=$n_of"
echo "RESULT ovn_acl_chassis_first_ms=$((t1 - t0))"
echo "RESULT ovn_acl_controller_hwm_kb=$(mem_kb "$cpid" VmHWM)"
exit 0
