#!/bin/bash
# bench-nfv-path.sh — TCP and small-packet UDP throughput through an anet-nfv
# vAF instance vs the same policy in nftables on the same path, same run
# (issue 7, "on the lab path").
#
# What: two bump-in-the-wire paths, each three private namespaces joined by
# veths (TX checksum offload off on every veth end, as ARCHITECTURE.md
# requires for userspace datapaths), client and server on one /24 so ARP
# crosses the middle too:
#
#   C: c0 10.78.0.1/24 ==veth== M: c1 [middle] s1 ==veth== S: s0 10.78.0.129/24
#
#   vaf  middle = anet-nfv --kind vaf on c1/s1 (net_af_packet ports, no
#        hugepages), policy sent over its control socket as a protobuf
#        NfvRequest (hand-encoded by the small python3 helper below);
#   nft  middle = a Linux bridge br0 joining c1/s1 with nftables rules.
#
# The policy, identical in both: allow tcp and udp to port 5201 from
# 10.78.0.0/25 (the client's half of the subnet: the server at .129 is
# outside it, so the rules are directional), connections' later packets and
# replies by connection state, deny the rest.  nftables does it statefully
# with "ct state": in a bridge table when the kernel has nf_conntrack_bridge,
# else (this lab's kernel lacks it) through br_netfilter into an inet
# forward chain, the way bridged hosts usually filter; the bridge table then
# passes only ARP and IPv4.  Which mode ran is printed.
#
# Before measuring, each path is checked to really enforce the policy: tcp
# and udp 5201 from the client pass; tcp and udp 5202 from the client and a
# new tcp 5201 connection from the server to the client are blocked (the
# listeners exist: they answer inside their own namespace).  A failed check
# fails the benchmark.  Then iperf3, the two paths interleaved run by run so
# that background load hits both alike: TCP (REPS runs of SECS s, median,
# Gbit/s) and UDP with 64-byte payloads at an unlimited rate (-l 64 -b 0,
# 106-byte frames; REPS runs, median of the packets/s the middle delivered
# onto the server's veth — its rx counter — and the share of the sent
# packets that never got there).  The iperf3 server's own count is printed
# too; on two cores that receiver saturates before either middle does.
#
# Output: human lines plus RESULT nfv_path_{vaf,nft}_tcp_gbps,
# nfv_path_{vaf,nft}_udp64_kpps, nfv_path_{vaf,nft}_udp64_loss_pct and the
# ratios nfv_path_tcp_vaf_vs_nft, nfv_path_udp64_vaf_vs_nft (vAF / nftables).
# Namespaces (anet-bnp-PID-*), processes and files go away on exit, also on
# failure or interrupt.
#
# Usage: bench-nfv-path.sh [BUILD_DIR]   (default: build/ of this checkout)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$SRC/build}
NFV=$BIN/anet-nfv
REPS=${REPS:-3}
SECS=${SECS:-4}
ID=$$
P=anet-bnp-$ID
T=$(mktemp -d /tmp/anet-bnp-$ID.XXXXXX)
CTL=/tmp/$P.sock
CLIENT=10.78.0.1
SERVER=10.78.0.129
ALLOWED_SRC=10.78.0.0/25
NSES=()

die() { echo "bench-nfv-path: error: $*" >&2; exit 1; }
cleanup() {
    local p n
    # Everything this script starts runs in its own namespaces: what still
    # runs there was started here.
    for n in "${NSES[@]}"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$n" 2>/dev/null || true
    done
    rm -rf "$T" "$CTL" "/var/run/dpdk/$P"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (namespaces)"
[ -x "$NFV" ] || die "missing $NFV (build the anet-nfv target first)"
need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v nft >/dev/null || need+=(nftables)
if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" \
        >/dev/null 2>&1 || die "cannot install ${need[*]}"
fi
for c in iperf3 nft jq python3 ethtool; do
    command -v "$c" >/dev/null || die "missing $c"
done

# ---------------------------------------------------------------- helper
# nfvctl.py: the control-socket client (protobuf encoded by hand, python3
# has no protobuf module here) and the policy probes.
#   config SOCK SRC_CIDR      NfvRequest{config{generation 1, fw{...}}}
#   stats SOCK                prints one line per port
#   serve PORT...             tcp and udp listeners answering "ok"
#   probe tcp|udp HOST PORT   exit 0 when "ok" comes back within 1 s
cat >"$T/nfvctl.py" <<'EOF'
import socket, struct, sys, time, select

def varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def fv(num, n):                 # varint field
    return varint(num << 3) + varint(n)

def fb(num, data):              # length-delimited field
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data

def decode(buf):                # {field: [values]}, bytes for wire type 2
    out, i = {}, 0
    def rd():
        nonlocal i
        n = s = 0
        while True:
            b = buf[i]; i += 1
            n |= (b & 0x7f) << s; s += 7
            if b < 0x80:
                return n
    while i < len(buf):
        key = rd(); num, wt = key >> 3, key & 7
        if wt == 0:
            v = rd()
        elif wt == 2:
            ln = rd(); v = buf[i:i + ln]; i += ln
        elif wt == 1:
            v = buf[i:i + 8]; i += 8
        elif wt == 5:
            v = buf[i:i + 4]; i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out

def call(path, req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(100):
        try:
            s.connect(path); break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("nfvctl: cannot connect to %s" % path)
    s.sendall(struct.pack(">I", len(req)) + req)
    def recvn(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                sys.exit("nfvctl: control socket closed")
            b += c
        return b
    n = struct.unpack(">I", recvn(4))[0]
    return decode(recvn(n))

def first(d, k, dflt):
    return d.get(k, [dflt])[0]

cmd = sys.argv[1]
if cmd == "config":
    path, src = sys.argv[2], sys.argv[3]
    ALLOW, DENY = 0, 1
    rules = b""
    for proto, name in ((6, "tcp-5201"), (17, "udp-5201")):
        rules += fb(1, fb(1, src) + fv(3, proto) + fv(4, 5201) + fv(5, 5201)
                    + fv(7, ALLOW) + fb(9, name))
    fw = rules + fv(2, DENY)
    req = fb(1, fv(1, 1) + fb(2, fw))            # NfvRequest.config
    r = call(path, req)
    err = first(r, 2, b"").decode()
    if err or first(r, 1, 0) != 1:
        sys.exit("nfvctl: config refused: %r (generation %d)" % (err, first(r, 1, 0)))
elif cmd == "stats":
    r = call(sys.argv[2], fb(2, b""))            # NfvRequest.stats
    st = decode(first(r, 3, b""))
    for p in st.get(1, []):
        p = decode(p)
        print("port %s rx %d tx %d drops %d tx_errors %d rx_missed %d" % (
            first(p, 2, b"?").decode(), first(p, 3, 0), first(p, 4, 0),
            first(p, 7, 0), first(p, 8, 0), first(p, 9, 0)))
elif cmd == "serve":
    socks = []
    for port in map(int, sys.argv[2:]):
        t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind(("0.0.0.0", port)); t.listen(8)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
        socks += [t, u]
    print("ready", flush=True)
    while True:
        for s in select.select(socks, [], [])[0]:
            if s.type == socket.SOCK_STREAM:
                c, _ = s.accept(); c.sendall(b"ok"); c.close()
            else:
                _, a = s.recvfrom(64); s.sendto(b"ok", a)
elif cmd == "probe":
    kind, host, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
    try:
        if kind == "tcp":
            s = socket.create_connection((host, port), timeout=1)
            ok = s.recv(2) == b"ok"
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
            s.sendto(b"ping", (host, port))
            ok = s.recvfrom(64)[0] == b"ok"
    except OSError:
        ok = False
    sys.exit(0 if ok else 1)
EOF
ctl() { python3 "$T/nfvctl.py" "$@"; }

# ---------------------------------------------------------------- paths
# mkpath KIND: namespaces $P-KIND-{c,m,s}, veths, addresses, offload off.
mkpath() {
    local c=$P-$1-c m=$P-$1-m s=$P-$1-s x
    for x in "$c" "$m" "$s"; do
        ip netns add "$x"
        NSES+=("$x")
        ip -n "$x" link set lo up
    done
    ip link add c0 netns "$c" type veth peer c1 netns "$m"
    ip link add s0 netns "$s" type veth peer s1 netns "$m"
    for x in "$c:c0" "$m:c1" "$m:s1" "$s:s0"; do
        ip netns exec "${x%%:*}" ethtool -K "${x#*:}" tx off >/dev/null
        ip -n "${x%%:*}" link set "${x#*:}" up
    done
    ip -n "$c" addr add "$CLIENT/24" dev c0
    ip -n "$s" addr add "$SERVER/24" dev s0
}

# The vAF: anet-nfv between c1 and s1, configured over its control socket.
mkpath vaf
ip netns exec "$P-vaf-m" "$NFV" --name bnp --kind vaf --port c1 --port s1 --ctl "$CTL" \
    --file-prefix "$P" --no-huge --log-level warn >"$T/nfv.log" 2>&1 &
NFV_PID=$!
ctl config "$CTL" "$ALLOWED_SRC" || { tail -n 20 "$T/nfv.log" >&2; die "vAF config failed"; }

# nftables: a bridge, the same policy, stateful.
mkpath nft
M=$P-nft-m
ip -n "$M" link add br0 type bridge
ip -n "$M" link set c1 master br0
ip -n "$M" link set s1 master br0
ip -n "$M" link set br0 up
rules() { # the policy as the body of an nft chain
    cat <<EOF
    ct state established,related accept
    ct state invalid drop
    ip saddr $ALLOWED_SRC tcp dport 5201 ct state new accept
    ip saddr $ALLOWED_SRC udp dport 5201 ct state new accept
EOF
}
if ip netns exec "$M" nft -f - 2>/dev/null <<EOF
table bridge anet_bnp {
  chain pass {
    type filter hook forward priority 0; policy drop;
    ether type arp accept
$(rules)
  }
}
EOF
then
    NFT_MODE="bridge family, ct state (nf_conntrack_bridge)"
else
    ip netns exec "$M" sysctl -q -w net.bridge.bridge-nf-call-iptables=1
    ip netns exec "$M" nft -f - <<EOF
table bridge anet_bnp {
  chain pass {
    type filter hook forward priority 0; policy drop;
    ether type { arp, ip } accept
  }
}
table inet anet_bnp {
  chain pass {
    type filter hook forward priority 0; policy drop;
$(rules)
  }
}
EOF
    NFT_MODE="bridge family for ARP/IPv4 + br_netfilter inet forward, ct state (no nf_conntrack_bridge in this kernel)"
fi

# ---------------------------------------------------------------- policy
# check KIND: the policy holds on that path (see the header).
check() {
    local k=$1 c=$P-$1-c s=$P-$1-s sp cp bad=0 what want got
    ip netns exec "$s" python3 "$T/nfvctl.py" serve 5201 5202 >"$T/serve-$k-s" 2>&1 &
    sp=$!
    ip netns exec "$c" python3 "$T/nfvctl.py" serve 5201 >"$T/serve-$k-c" 2>&1 &
    cp=$!
    for _ in $(seq 50); do
        grep -q ready "$T/serve-$k-s" && grep -q ready "$T/serve-$k-c" && break
        sleep 0.1
    done
    while read -r what want ns proto host port; do
        if ip netns exec "$ns" python3 "$T/nfvctl.py" probe "$proto" "$host" "$port"; then
            got=pass
        else
            got=blocked
        fi
        printf '  %-4s %-40s %-8s%s\n' "$k" "$what" "$got" "$([ "$got" = "$want" ] || echo '  <-- WRONG')"
        [ "$got" = "$want" ] || bad=1
    done <<EOF
listener-tcp-5202(inside-S) pass $s tcp $SERVER 5202
listener-udp-5202(inside-S) pass $s udp $SERVER 5202
listener-tcp-5201(inside-C) pass $c tcp $CLIENT 5201
C->S_tcp_5201 pass $c tcp $SERVER 5201
C->S_udp_5201 pass $c udp $SERVER 5201
C->S_tcp_5202 blocked $c tcp $SERVER 5202
C->S_udp_5202 blocked $c udp $SERVER 5202
S->C_tcp_5201(source_outside_/25) blocked $s tcp $CLIENT 5201
EOF
    kill -KILL "$sp" "$cp" 2>/dev/null || true
    wait "$sp" "$cp" 2>/dev/null || true
    [ $bad = 0 ] || die "$k: the policy does not hold; not measuring"
}

echo "== vAF (anet-nfv) vs nftables on the same bump-in-the-wire veth path"
echo "  nftables: $NFT_MODE"
echo "  policy checks (pass = answered within 1 s):"
check vaf
check nft

# ---------------------------------------------------------------- measure
# iperf KIND NAME ARGS...: one iperf3 run from C to S:5201, JSON to $T/NAME.
iperf() {
    local k=$1 name=$2 sp
    shift 2
    ip netns exec "$P-$k-s" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    sp=$!
    for _ in $(seq 50); do
        ip netns exec "$P-$k-s" ss -Hltn 'sport = :5201' | grep -q . && break
        sleep 0.1
    done
    ip netns exec "$P-$k-c" timeout $((SECS + 15)) iperf3 -c "$SERVER" -p 5201 -t "$SECS" -J "$@" \
        >"$T/$name.json" 2>&1 || true
    kill "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
}
median() { sort -g | awk '{v[NR]=$1} END {printf "%.3f\n", NR ? v[int((NR+1)/2)] : 0}'; }

for i in $(seq "$REPS"); do
    for k in vaf nft; do
        iperf $k "$k-tcp-$i"
        jq -r '.end.sum_received.bits_per_second / 1e9' "$T/$k-tcp-$i.json" \
            >"$T/$k-tcp-$i.v" 2>/dev/null || echo 0 >"$T/$k-tcp-$i.v"
        printf '  %-4s tcp run %d: %.3f Gbit/s, %s retransmits\n' $k "$i" "$(cat "$T/$k-tcp-$i.v")" \
            "$(jq -r '.end.sum_sent.retransmits // "?"' "$T/$k-tcp-$i.json" 2>/dev/null || echo '?')"
    done
done
rxp() { ip -n "$P-$1-s" -j -s link show s0 | jq '.[0].stats64.rx.packets'; }
for i in $(seq "$REPS"); do
    for k in vaf nft; do
        r0=$(rxp $k)
        iperf $k "$k-udp-$i" -u -l 64 -b 0
        r1=$(rxp $k)
        # Delivered: frames the middle put on the server's veth per second of
        # sending (the iperf3 receiver itself saturates first on two cores,
        # so its own count is shown but not the figure); loss: of what the
        # client sent, what never reached the server's veth.
        jq -r --argjson rx $((r1 - r0)) '.end.sum as $s | [($rx / $s.seconds / 1e3),
                 (if $s.packets > 0 then 100 * (1 - ([$rx, $s.packets] | min) / $s.packets) else 100 end),
                 $s.packets, (($s.packets - $s.lost_packets) / $s.seconds / 1e3), $s.lost_percent] | @tsv' \
            "$T/$k-udp-$i.json" >"$T/$k-udp-$i.v" 2>/dev/null || printf '0\t100\t0\t0\t100\n' >"$T/$k-udp-$i.v"
        read -r kpps loss sent akpps aloss <"$T/$k-udp-$i.v"
        printf '  %-4s udp 64 B run %d: %.1f kpps delivered to S, %.1f%% of %s sent lost on the path (iperf3 server got %.1f kpps, %.1f%% lost)\n' \
            $k "$i" "$kpps" "$loss" "$sent" "$akpps" "$aloss"
    done
done
echo "  vAF counters after the runs:"
ctl stats "$CTL" | sed 's/^/    /'
st=$(ps -o stat= -p "$NFV_PID" || true)
[ -n "$st" ] && [ "${st#Z}" = "$st" ] || die "anet-nfv died during the runs"

tcp() { cat "$T/$1"-tcp-*.v | median; }
udp() { cut -f"$2" "$T/$1"-udp-*.v | median; }
vt=$(tcp vaf) nt=$(tcp nft)
vu=$(udp vaf 1) nu=$(udp nft 1)
vl=$(udp vaf 2) nl=$(udp nft 2)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "  median TCP: vAF $vt Gbit/s, nftables $nt Gbit/s (vAF/nft $(ratio "$vt" "$nt"))"
echo "  median UDP 64 B: vAF $vu kpps ($vl% lost), nftables $nu kpps ($nl% lost) (vAF/nft $(ratio "$vu" "$nu"))"
echo "RESULT nfv_path_vaf_tcp_gbps=$vt"
echo "RESULT nfv_path_nft_tcp_gbps=$nt"
echo "RESULT nfv_path_vaf_udp64_kpps=$vu"
echo "RESULT nfv_path_nft_udp64_kpps=$nu"
echo "RESULT nfv_path_vaf_udp64_loss_pct=$vl"
echo "RESULT nfv_path_nft_udp64_loss_pct=$nl"
echo "RESULT nfv_path_tcp_vaf_vs_nft=$(ratio "$vt" "$nt")"
echo "RESULT nfv_path_udp64_vaf_vs_nft=$(ratio "$vu" "$nu")"
