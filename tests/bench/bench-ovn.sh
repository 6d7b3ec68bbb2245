#!/bin/bash
# bench-ovn.sh — benchmark row 3: OVN side by side.
#
# What: starts OVN's northbound and southbound ovsdb-servers and ovn-northd
# in a private run dir (/tmp/anet-bovn-PID), loads the same logical switches
# and ports as anet's synthetic topology (anet-bench-gen N_PORTS: 20 ports
# per switch, each port addressed "MAC IP" with the MAC anet derives for it),
# and measures:
#   a. a full recompute of ovn-northd: `inc-engine/recompute`, then
#      `ovn-nbctl --wait=sb sync` (wall time until the SB DB has it), plus
#      northd's own figure (stopwatch ovnnb_db_run) and the logical flow
#      count;
#   b. a single-port add: `ovn-nbctl --wait=sb lsp-add` + lsp-set-addresses
#      in one invocation, wall time (median of 5).
# anet's figures for the same topology come from bench-compile; scripts/bench
# puts them side by side.
#
# Design: the NB contents go in as one OVSDB transaction over the unix socket
# (a short python3 JSON-RPC client: ovsdb-client transact takes its JSON as
# one argument, which Linux caps at 128 KiB, and ovn-nbctl with 20k commands
# is slow), so loading 10k ports takes seconds, not minutes.
#
# Output: human-readable lines plus "RESULT key=value" lines.  Exits non-zero
# only when something breaks.  Every daemon and the run dir are removed on
# exit, also on failure or interrupt.
#
# Usage: bench-ovn.sh ANET_BENCH_GEN [N_PORTS]   (default 10000)
set -euo pipefail

GEN=${1:?usage: bench-ovn.sh ANET_BENCH_GEN [N_PORTS]}
N=${2:-10000}
REPS=3
D=/tmp/anet-bovn-$$

die() { echo "bench-ovn: error: $*" >&2; exit 1; }

# shellcheck source=ovn-lib.sh
. "$(dirname "$0")/ovn-lib.sh"

cleanup() {
    ovn_kill_pidfiles 3 "$D"/northd.pid "$D"/sb.pid "$D"/nb.pid
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v ovn-northd >/dev/null || die "ovn-northd not installed (apt-get install ovn-central)"
[ -x "$GEN" ] || die "no anet-bench-gen at $GEN"

ovn_start_central "$D"

# --- load the topology ----------------------------------------------------
"$GEN" "$N" 20 100 >"$D/topo.yaml"
t0=$(now_ms)
ANET_BENCH_DIR=$(dirname "$0") PYTHONDONTWRITEBYTECODE=1 python3 - "$D/topo.yaml" "$D/nb.sock" <<'EOF' || die "loading the NB DB failed"
import os, re, sys

def mac_of(name):
    # anet's derived MAC (controller/topo.c): 0a + the low 40 bits of the
    # 64-bit FNV-1a of the port name (collisions are vanishingly rare at
    # this size and only move one address).
    h = 14695981039346656037
    for c in name.encode():
        h ^= c
        h = (h * 1099511628211) & 0xffffffffffffffff
    m = (0x0a << 40) | (h & 0xffffffffff)
    return ":".join("%02x" % ((m >> s) & 0xff) for s in range(40, -8, -8))

port_re = re.compile(r"\{name: (\S+), host: \S+, switch: (\S+), ip: ([0-9.]+)\}")
switches = {}
for line in open(sys.argv[1]):
    m = port_re.search(line)
    if m:
        switches.setdefault(m.group(2), []).append((m.group(1), m.group(3)))
ops = ["OVN_Northbound"]
for sw, ports in switches.items():
    for name, ip in ports:
        ops.append({"op": "insert", "table": "Logical_Switch_Port",
                    "uuid-name": "u" + name,
                    "row": {"name": name,
                            "addresses": ["set", ["%s %s" % (mac_of(name), ip)]]}})
    ops.append({"op": "insert", "table": "Logical_Switch",
                "row": {"name": sw, "ports": ["set", [["named-uuid", "u" + n]
                                                      for n, _ in ports]]}})
sys.path.insert(0, os.environ["ANET_BENCH_DIR"])
from ovsdb_transact import transact
transact(sys.argv[2], ops)
n_ports = sum(len(p) for p in switches.values())
print("  loaded %d switches, %d ports into the NB DB" % (len(switches), n_ports))
EOF
"${NB[@]}" --wait=sb sync || die "northd did not catch up after loading"
t1=$(now_ms)
n_ls=$("${NB[@]}" --format=csv --no-headings --columns=_uuid list Logical_Switch | wc -l)
n_lsp=$("${NB[@]}" --format=csv --no-headings --columns=_uuid list Logical_Switch_Port | wc -l)
[ "$n_lsp" -eq "$N" ] || die "NB holds $n_lsp ports, expected $N"
echo "row 3: OVN $(ovn-northd --version | head -n1 | awk '{print $NF}') side by side: $n_ls switches, $n_lsp addressed ports (load + first northd run $((t1 - t0)) ms)"

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
n_lflows=$("${SB[@]}" --format=csv --no-headings --columns=_uuid list Logical_Flow | wc -l)
[ "$n_lflows" -gt 0 ] || die "no logical flows in the SB DB"

# northd's own figure: stopwatch ovnnb_db_run (average over the recomputes
# above; the stopwatch was reset before them).
sw_out=$("${NORTHD[@]}" stopwatch/show ovnnb_db_run 2>/dev/null || true)
northd_ms=$(awk -F: '/Short term average/ {gsub(/[^0-9.]/, "", $2); print $2; exit}' <<<"$sw_out")
northd_max=$(awk -F: '/Maximum/ {gsub(/[^0-9.]/, "", $2); print $2; exit}' <<<"$sw_out")
northd_min=$(awk -F: '/Minimum/ {gsub(/[^0-9.]/, "", $2); print $2; exit}' <<<"$sw_out")

echo "  northd full recompute until SB has it: best $rec_best ms, median $rec_med ms (wall, $REPS runs)"
if [ -n "$northd_ms" ]; then
    echo "  northd's own stopwatch ovnnb_db_run: min ${northd_min:-?} ms, max ${northd_max:-?} ms, average $northd_ms ms"
fi
echo "  logical flows in the SB DB: $n_lflows"

# --- (b) single-port add --------------------------------------------------
adds=()
for i in $(seq 5); do
    t0=$(now_ms)
    "${NB[@]}" --wait=sb lsp-add ls0000 bench-new$i \
        -- lsp-set-addresses bench-new$i "0a:ff:00:00:00:0$i 10.0.0.$((240 + i))" \
        || die "lsp-add failed"
    t1=$(now_ms)
    adds+=($((t1 - t0)))
done
add_med=$(printf '%s\n' "${adds[@]}" | median)
add_best=$(printf '%s\n' "${adds[@]}" | best)
echo "  single lsp-add + lsp-set-addresses --wait=sb: median $add_med ms, best $add_best ms (5 runs)"

npid=$(cat "$D/northd.pid")
spid=$(cat "$D/sb.pid")
echo "  ovn-northd: VmHWM $(mem_kb "$npid" VmHWM) KiB; SB ovsdb-server: VmHWM $(mem_kb "$spid" VmHWM) KiB"

echo "RESULT ovn_ports=$n_lsp"
echo "RESULT ovn_lflows=$n_lflows"
echo "RESULT ovn_recompute_sb_ms=$rec_best"
echo "RESULT ovn_recompute_sb_median_ms=$rec_med"
[ -n "$northd_ms" ] && echo "RESULT ovn_northd_recompute_ms=$northd_ms"
echo "RESULT ovn_lsp_add_ms=$add_med"
echo "RESULT ovn_northd_hwm_kb=$(mem_kb "$npid" VmHWM)"
echo "RESULT ovn_sb_hwm_kb=$(mem_kb "$spid" VmHWM)"
exit 0
