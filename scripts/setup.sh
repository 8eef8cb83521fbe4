#!/usr/bin/env bash
# Installs what Simpul needs to build and test on Debian 12, and nothing that is already there.
# Idempotent: a second run installs nothing and takes about a second.
# Only versioned Boost 1.81 packages: the unversioned libboost-dev is 1.74 and would remove 1.81.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libboost1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libssl-dev libsqlite3-dev sqlite3 zlib1g-dev
  rapidjson-dev doctest-dev
  libfmt-dev libcli11-dev libutfcpp-dev libcsv-dev
  iproute2 nftables
)
# Extra packages a make target needs beyond these (`make fuzz`: clang-14 libclang-rt-14-dev).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
