#!/bin/bash
# bench-nfv-engines.sh — row nfve: the anet-nfv engines on one core, in
# memory (bench-nfv-vaf, bench-nfv-vad), on 2 MiB hugepages as anet-nfv
# itself runs: it raises nr_hugepages by what it needs (600 pages) on top of
# what is there, runs both with ANET_NFV_HUGEPAGES=1, and gives the pages
# back on exit.  Without hugepages (none can be reserved) it runs them on
# ordinary memory and says so: the connection tables then pay TLB misses
# (new connections about 10% slower).
#
# Usage: bench-nfv-engines.sh BUILD_DIR
set -uo pipefail
B=${1:?usage: bench-nfv-engines.sh BUILD_DIR}
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
NEED=600
added=0
mounted=0

cleanup() {
    rm -f /dev/hugepages/anet-nfvt-* 2>/dev/null
    if [ $added -gt 0 ]; then
        local now
        now=$(cat "$HP/nr_hugepages")
        echo $(( now > added ? now - added : 0 )) >"$HP/nr_hugepages"
    fi
    [ $mounted = 1 ] && umount /dev/hugepages 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in bench-nfv-vaf bench-nfv-vad; do
    [ -x "$B/tests/$p" ] || { echo "bench-nfv-engines: no $B/tests/$p" >&2; exit 1; }
done
mem=ordinary
if [ -w "$HP/nr_hugepages" ]; then
    if ! mountpoint -q /dev/hugepages; then
        mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages && mounted=1
    fi
    before=$(cat "$HP/nr_hugepages")
    echo $(( before + NEED )) >"$HP/nr_hugepages"
    added=$(( $(cat "$HP/nr_hugepages") - before ))
    [ "$(cat "$HP/free_hugepages")" -ge $NEED ] && mem=hugepages
fi
echo "anet-nfv engines on $mem memory"
if [ $mem = hugepages ]; then
    export ANET_NFV_HUGEPAGES=1
fi
"$B/tests/bench-nfv-vaf" || exit 1
"$B/tests/bench-nfv-vad" || exit 1
