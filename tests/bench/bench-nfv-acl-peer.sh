#!/bin/bash
# bench-nfv-acl-peer.sh — vAF's classifier (nfv/acl.c on rte_acl) against
# DPDK's own dpdk-test-acl (Debian's dpdk-dev) on the same rules and the
# same packets, same run (issue 7: "dpdk-test-acl is a peer to measure the
# classifier against").
#
# What: bench-nfv-vaf's acl row (random rule sets of 1k and 10k rules,
# 65,536 packets, bursts of 64, SECS s a set) runs with an export directory:
# besides its own figures it writes, for each set, the expanded rte_acl
# rules in dpdk-test-acl's ClassBench format, the packets as a trace, which
# anet rule each rule line came from and nfv_acl_classify's answer for each
# packet (see the top of bench-nfv-vaf.c).  The rules are expanded exactly
# as nfv/acl.c expands them and the ICMP type travels in the source-port
# column, so dpdk-test-acl builds a trie of the same shape over the same
# 16-byte keys: the comparison measures anet's wrapper (key pointers, result
# remapping) and build choices, not a different problem.
#
# Then dpdk-test-acl (EAL: --no-huge -m 512 --no-pci, its own file prefix,
# on the same CPU as anet's run) for each set:
#   1. check: one pass with per-packet results (--verbose=2), mapped back
#      to anet rule indexes and compared with anet's answers packet by
#      packet; any difference fails the benchmark.  dpdk-test-acl has no
#      built-in linear verification; anet's row itself checks nfv_acl
#      against its linear reference on the way;
#   2. rate, rte_acl's default algorithm (what nfv_acl gets: the best the
#      CPU and EAL allow, named from dpdk-test-acl's context dump), built
#      with 1 category and classifying 64 packets a call like anet;
#   3. rate, --alg=scalar, for reference.
# Timed runs are sized to about SECS s from anet's measured rate and
# repeated REPS times interleaved with anet's row (median of each), so that
# background load on the shared cores hits both alike.
#
# Output: human lines plus RESULT nfv_acl_classify_mpps_{1k,10k} (anet,
# median), acl_peer_testacl_mpps_{1k,10k}, acl_peer_testacl_scalar_mpps_
# {1k,10k}, acl_peer_anet_vs_testacl_{1k,10k} (anet / dpdk-test-acl) and
# acl_peer_mismatches_{1k,10k}.  Temporary files and the EAL runtime
# directory /var/run/dpdk/anet-bap-PID go away on exit.
#
# Usage: bench-nfv-acl-peer.sh [BUILD_DIR]   (default: build/ of this
#        checkout; env REPS=3 SECS=1 CPU=0)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$SRC/build}
VAF=$BIN/tests/bench-nfv-vaf
REPS=${REPS:-3}
SECS=${SECS:-1}
CPU=${CPU:-0}
P=anet-bap-$$
T=$(mktemp -d /tmp/anet-bap-$$.XXXXXX)

die() { echo "bench-nfv-acl-peer: error: $*" >&2; exit 1; }
cleanup() { rm -rf "$T" "/var/run/dpdk/$P"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$VAF" ] || die "missing $VAF (build the bench-nfv-vaf target first)"
TESTACL=$(command -v dpdk-test-acl) || die "missing dpdk-test-acl (Debian package dpdk-dev)"
EAL=(--no-huge -m 512 --no-pci --no-telemetry --log-level=error
     "--file-prefix=$P" -l "$CPU")

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m } }'; }
result() { sed -n "s/^RESULT $1=//p" "$2"; }

# testacl SIZE ITER OUT [ARGS...]: one dpdk-test-acl run on set SIZE.
testacl() {
    local size=$1 iter=$2 out=$3
    shift 3
    "$TESTACL" "${EAL[@]}" -- --rulesf="$T/x/rules-$size.txt" \
        --tracef="$T/x/trace-$size.txt" --bldcat=1 --tracestep=64 \
        --iter="$iter" "$@" >"$out" 2>"$out.err" \
        || { tail -n 5 "$out.err" >&2; die "dpdk-test-acl failed on the $size set"; }
    rm -rf "/var/run/dpdk/$P"
}
# The rate dpdk-test-acl printed, in Mpps.
testacl_mpps() {
    sed -n 's/.* \([0-9.]*\) pkt\/sec$/\1/p' "$1" | awk '{ printf "%.2f\n", $1 / 1e6 }'
}

echo "dpdk-test-acl: $TESTACL ($(dpkg-query -W -f='${Version}' dpdk-dev 2>/dev/null || echo '?')), CPU $CPU, $REPS reps of ~$SECS s"
mkdir -p "$T/x"
declare -A ANET=() TA=() TAS=()
for rep in $(seq 1 "$REPS"); do
    # anet's row; the first rep also exports (the rule sets and packets are
    # seeded: every rep classifies the same ones, checked below).
    dir=$T/x
    [ "$rep" = 1 ] || { dir=$T/r$rep; mkdir -p "$dir"; }
    taskset -c "$CPU" "$VAF" "$SECS" acl "$dir" >"$T/anet$rep.out" 2>"$T/anet$rep.err" \
        || { tail -n 5 "$T/anet$rep.err" >&2; die "bench-nfv-vaf acl failed"; }
    grep -v '^RESULT \|^exported ' "$T/anet$rep.out" | sed "s/^/anet rep $rep: /"
    if [ "$rep" != 1 ]; then
        for f in rules-1k rules-10k trace-1k trace-10k; do
            cmp -s "$T/x/$f.txt" "$dir/$f.txt" || die "rep $rep classified other rules or packets ($f)"
        done
        rm -rf "$dir"
    fi
    for size in 1k 10k; do
        a=$(result "nfv_acl_classify_mpps_$size" "$T/anet$rep.out")
        [ -n "$a" ] || die "no nfv_acl_classify_mpps_$size from bench-nfv-vaf"
        ANET[$size]+="$a "
        if [ "$rep" = 1 ]; then
            # The check: per-packet answers, one pass.
            testacl "$size" 1 "$T/check-$size.out" --verbose=2
            bad=$(awk 'FILENAME == ARGV[1] { map[FNR - 1] = $1; next }
                FILENAME == ARGV[2] { want[FNR] = $1; n++; next }
                /^ipv4_5tuple: / { i = $2 + 0; r = $6 + 0; seen++
                    got = (r == 4294967295) ? -1 : map[r]
                    if (got != want[i]) { bad++
                        if (bad <= 3) printf "  packet %d: dpdk-test-acl rule %s, anet rule %s\n", i, got, want[i] > "/dev/stderr" } }
                END { if (seen != n) { printf "  %d of %d packets answered\n", seen, n > "/dev/stderr"; bad += n - seen }
                      print bad + 0 }' \
                "$T/x/map-$size.txt" "$T/x/expect-$size.txt" "$T/check-$size.out")
            eval "mismatch_$size=$bad"
            alg=$(sed -n 's/^ *alg=\([0-9]*\)$/\1/p' "$T/check-$size.out" | head -n1)
            # enum rte_acl_classify_alg, DPDK 22.11.
            names=(default scalar sse avx2 neon altivec avx512x16 avx512x32)
            lines=$(wc -l <"$T/x/rules-$size.txt")
            echo "check $size: $lines rule lines, $(wc -l <"$T/x/trace-$size.txt") packets, $bad answers differ from anet's; default algorithm ${names[$alg]:-#$alg}"
        fi
        # Iterations for ~SECS s at anet's rate (the scalar run: a quarter).
        iter=$(awk -v m="$a" -v s="$SECS" 'BEGIN { i = int(m * 1e6 * s / 65536); print i < 10 ? 10 : i }')
        testacl "$size" "$iter" "$T/ta.out" --verbose=0
        v=$(testacl_mpps "$T/ta.out")
        [ -n "$v" ] || die "no rate in dpdk-test-acl's output"
        TA[$size]+="$v "
        testacl "$size" $(( iter / 4 > 10 ? iter / 4 : 10 )) "$T/tas.out" --verbose=0 --alg=scalar
        vs=$(testacl_mpps "$T/tas.out")
        TAS[$size]+="$vs "
        echo "rep $rep, $size rules: anet nfv_acl $a Mpps, dpdk-test-acl default $v Mpps, scalar $vs Mpps"
    done
done

for size in 1k 10k; do
    a=$(echo "${ANET[$size]}" | tr ' ' '\n' | grep . | median)
    t=$(echo "${TA[$size]}" | tr ' ' '\n' | grep . | median)
    s=$(echo "${TAS[$size]}" | tr ' ' '\n' | grep . | median)
    r=$(awk -v a="$a" -v t="$t" 'BEGIN { printf "%.2f", (t > 0) ? a / t : 0 }')
    eval "bad=\$mismatch_$size"
    echo "$size rules, median of $REPS: anet $a Mpps, dpdk-test-acl $t Mpps (scalar $s), anet / dpdk-test-acl = ${r}x"
    echo "RESULT nfv_acl_classify_mpps_$size=$a"
    echo "RESULT acl_peer_testacl_mpps_$size=$t"
    echo "RESULT acl_peer_testacl_scalar_mpps_$size=$s"
    echo "RESULT acl_peer_anet_vs_testacl_$size=$r"
    echo "RESULT acl_peer_mismatches_$size=$bad"
done
[ "$mismatch_1k" = 0 ] && [ "$mismatch_10k" = 0 ] \
    || die "anet and dpdk-test-acl classify the trace differently"
