#!/bin/bash
# bench-apply.sh — row 3b: a single-port add end to end through the product,
# the like-for-like peer of OVN's `ovn-nbctl --wait=sb lsp-add`.
#
# Starts a real anet-controller (private state dir, free ports), applies the
# generated 10k-port topology, then times `anetctl apply` of that topology
# plus one port (and back), 5 times each: the controller parses and
# validates the whole YAML, diffs it against the running model, recompiles
# the changed objects, persists its state (fsync) and answers.  No agents
# are connected, so the push costs nothing here (row 5 measures fan-out).
#
# Usage: bench-apply.sh BUILD_DIR [N_PORTS]
set -euo pipefail
BUILD=$1
N=${2:-10000}
DIR=$(mktemp -d /tmp/anet-bapply-XXXXXX)
CTL_PID=
cleanup() {
    [ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

free_port() {
    local p
    for p in $(seq 17600 17700); do
        ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
    return 1
}
http=$(free_port)
agents=$((http + 1))
"$BUILD/anet-controller" --listen "127.0.0.1:$agents" --http "127.0.0.1:$http" \
    --state-dir "$DIR/state" --log-level warn 2>"$DIR/controller.log" &
CTL_PID=$!
export ANET_CONTROLLER=http://127.0.0.1:$http
for _ in $(seq 50); do
    "$BUILD/anetctl" show >/dev/null 2>&1 && break
    sleep 0.1
done

"$BUILD/tests/anet-bench-gen" "$N" >"$DIR/base.yaml"
cp "$DIR/base.yaml" "$DIR/plus1.yaml"
echo "  - {name: zz-bench-new, host: hv0000, switch: ls0000, ip: 10.0.0.200}" >>"$DIR/plus1.yaml"

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
first_us=$(ms "$BUILD/anetctl" apply "$DIR/base.yaml")
adds=()
removes=()
for _ in 1 2 3 4 5; do
    adds+=("$(ms "$BUILD/anetctl" apply "$DIR/plus1.yaml")")
    removes+=("$(ms "$BUILD/anetctl" apply "$DIR/base.yaml")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
add_us=$(median "${adds[@]}")
rm_us=$(median "${removes[@]}")
gen=$("$BUILD/anetctl" show -o json | sed -n 's/.*"generation": *\([0-9]*\).*/\1/p' | head -1)
[ "$gen" = 11 ] || { echo "bench-apply: expected generation 11, controller says '$gen'" >&2; exit 1; }

k=$((N / 1000))k
msf() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
printf 'row 3b: single-port add end to end through anet-controller (%s ports)\n' "$N"
printf '  first apply of the whole topology          %8s ms\n' "$(msf "$first_us")"
printf '  anetctl apply +1 port (median of 5)        %8s ms\n' "$(msf "$add_us")"
printf '  anetctl apply -1 port (median of 5)        %8s ms\n' "$(msf "$rm_us")"
printf '  (whole YAML parsed and validated, model diffed, changed objects\n'
printf '   recompiled, state persisted with fsync, answer received)\n'
echo "RESULT apply_first_${k}_ms=$(msf "$first_us")"
echo "RESULT apply_add_port_${k}_ms=$(msf "$add_us")"
echo "RESULT apply_remove_port_${k}_ms=$(msf "$rm_us")"
