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
  chromium fonts-dejavu-core
  libmariadb-dev libpq-dev mariadb-server postgresql
  lintian file man-db groff-base
)
# Node.js and npm run the dashboard's browser tests (tests/ui). A machine that has them from
# elsewhere (NodeSource, which bundles npm) keeps them: Debian's npm package would conflict.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
# Extra packages a make target needs beyond these (`make fuzz`: clang-14 libclang-rt-14-dev).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

root="$(cd "$(dirname "$0")/.." && pwd)"

# One program taken out of a Debian package without installing the package: fetch_tool PACKAGE
# PATH-IN-PACKAGE NAME puts it at .tools/NAME (once).
fetch_tool() {
  local package="$1" inside="$2" name="$3"
  [ -x "$root/.tools/$name" ] && return 0
  echo "setup: fetching $name from Debian's $package package (into .tools/)"
  local work
  work="$(mktemp -d)"
  if ! (cd "$work" && apt-get download -qq "$package" 2>/dev/null); then
    local sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    (cd "$work" && apt-get download -qq "$package")
  fi
  dpkg-deb -x "$work"/"$package"_*.deb "$work/x"
  mkdir -p "$root/.tools"
  cp "$work/x/$inside" "$root/.tools/$name"
  rm -rf "$work"
}
# promtool: the tests check /metrics and the alert rules with it (the server is not installed).
fetch_tool prometheus usr/bin/promtool promtool
# nginx: the TLS proxy example (config/nginx/simpul.conf) is tested in front of a node;
# installing the package would start a server on port 80.
fetch_tool nginx usr/sbin/nginx nginx

# The OpenAPI linter (Redocly CLI, tests/openapi/package-lock.json), the same way.
lint="$root/tests/openapi"
if [ ! -f "$lint/node_modules/.package-lock.json" ] || [ "$lint/package-lock.json" -nt "$lint/node_modules/.package-lock.json" ]; then
  echo "setup: installing the OpenAPI linter (tests/openapi/package-lock.json)"
  (cd "$lint" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

# The browser tests' npm packages (Playwright without its browser, axe-core), exactly as the lock
# file says, when the lock file is newer than what is installed. Playwright drives Debian's
# chromium above: it never downloads a browser.
ui="$root/tests/ui"
if [ ! -f "$ui/node_modules/.package-lock.json" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
  echo "setup: installing the browser tests' npm packages (tests/ui/package-lock.json)"
  (cd "$ui" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
