#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever clearnode needs that the machine lacks.
# Needs root (or sudo) only when something is missing.
set -euo pipefail
packages=(
  g++ cmake ninja-build pkg-config
  librocksdb-dev libsodium-dev libssl-dev libcli11-dev doctest-dev libboost-dev nlohmann-json3-dev libjemalloc-dev
)
if [ "${CLEARNODE_WITH_CLANG:-0}" = 1 ]; then packages+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
