#!/bin/bash
# Installs what anet needs to build, run its lab and run its tests, from
# Debian's archive.  Idempotent: does nothing when everything is present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libyaml-dev libprotobuf-c-dev protobuf-c-compiler libevent-dev
  libjansson-dev libnl-3-dev libnl-route-3-dev libssl-dev libcmocka-dev
  openvswitch-switch openvswitch-common
  openvswitch-switch-dpdk dpdk-dev
  iproute2 ethtool iputils-ping netcat-openbsd procps psmisc curl jq
  busybox traceroute tcpdump
  clang libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "anet: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# The packaged service is not used: anet starts its own OVS instances with
# private run dirs.  Stop the system one if the package started it.
$SUDO systemctl stop openvswitch-switch >/dev/null 2>&1 || true
