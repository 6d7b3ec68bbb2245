#!/bin/bash
# Runs anet's fuzz harnesses under libFuzzer (clang, ASan+UBSan).
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     default: 10 s each, all harnesses
# New inputs libFuzzer finds are kept in build-fuzz/corpus-NAME (the checked-in
# corpus under tests/fuzz/corpus/ is only read); crashes are written to
# build-fuzz/ and make this script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz-*.c; do
    n=$(basename "$f" .c); harnesses+=("${n#fuzz-}")
  done
fi
command -v clang >/dev/null || { echo "fuzz.sh: clang is not installed" >&2; exit 1; }
[ -f build/proto/anet.pb-c.c ] || ./scripts/build.sh
out=build-fuzz
mkdir -p "$out"
CFLAGS=(-g -O1 -std=gnu11 -D_GNU_SOURCE -DANET_VERSION=\"fuzz\" -I. -Ibuild
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
LIBS=$(pkg-config --cflags --libs yaml-0.1 libprotobuf-c libevent)
for h in "${harnesses[@]}"; do
  case $h in
    topo)  srcs=(controller/topo*.c) ;;
    frame) srcs=(proto/frame.c build/proto/anet.pb-c.c) ;;
    ofp)   srcs=(datapath/ofp-msgs.c datapath/flow.c) ;;
    dhcp)  srcs=(agent/dhcp.c agent/icmp.c) ;;
    nfv-packet) srcs=(nfv/pkt.c nfv/acl.c nfv/ct.c nfv/vaf.c nfv/nfv-eal.c) ;;
    nfv-config) srcs=(nfv/nfv-config.c build/proto/nfv.pb-c.c) ;;
    *) echo "fuzz.sh: unknown harness $h" >&2; exit 2 ;;
  esac
  bin=$out/fuzz-$h
  extra=()
  # The vAF engine's DPDK libraries (rte_acl, rte_hash; EAL without
  # hugepages, initialised by the harness).
  [ "$h" = nfv-packet ] && read -r -a extra <<<"$(pkg-config --cflags --libs libdpdk)"
  clang "${CFLAGS[@]}" -o "$bin" "tests/fuzz/fuzz-$h.c" "${srcs[@]}" lib/*.c $LIBS "${extra[@]}"
  mkdir -p "$out/corpus-$h"
  echo "== fuzz-$h for ${secs}s"
  "$bin" -max_total_time="$secs" -print_final_stats=0 -artifact_prefix="$out/fuzz-$h-" \
    "$out/corpus-$h" "tests/fuzz/corpus/$h" 2>&1 | grep -E "^#[0-9]+.*DONE|ERROR|SUMMARY" || true
  if ls "$out"/fuzz-"$h"-crash-* "$out"/fuzz-"$h"-leak-* >/dev/null 2>&1; then
    echo "fuzz.sh: fuzz-$h found a crash: $(ls "$out"/fuzz-"$h"-*)" >&2
    exit 1
  fi
done
