#!/usr/bin/env bash
# The Debian package, built from this build tree as `make package` builds it, then checked as a
# Debian server would take it: its contents and control data, lintian, systemd-analyze on the
# unit, and an install into a throwaway root (dpkg --root) whose package database is this
# machine's, so the computed Depends must resolve against a real Debian 12 system. From the
# installed files: simpul --version, simpul init and simpul check; then remove and purge.
# Usage: package_test.sh BUILD_DIR
set -euo pipefail

build="$(cd "$1" && pwd)"
work="$(mktemp -d /tmp/simpul-package-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "cpack (as make package)"
cpack --config "$build/CPackConfig.cmake" -B "$work/out" > "$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
deb="$(ls "$work"/out/simpul_*_amd64.deb)"
ddeb="$(ls "$work"/out/simpul-dbgsym_*_amd64.ddeb)" || fail "no debug-symbols package"

step "contents"
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' > "$work/files"
for f in /usr/bin/simpul /lib/systemd/system/simpul.service /usr/lib/sysusers.d/simpul.conf \
         /etc/simpul/simpul.example.json /usr/share/simpul/calendars/id.json \
         /usr/share/simpul/reference/agencies.json /usr/share/simpul/mappings/apekesah.json \
         /usr/share/man/man1/simpul.1.gz /usr/share/bash-completion/completions/simpul \
         /usr/share/doc/simpul/copyright /usr/share/doc/simpul/changelog.gz \
         /usr/share/doc/simpul/operations.md /usr/share/doc/simpul/nginx/simpul.conf \
         /usr/share/doc/simpul/monitoring/simpul-alerts.yml \
         /usr/share/doc/simpul/monitoring/simpul-grafana.json; do
  grep -qx "$f" "$work/files" || fail "the package lacks $f"
done
if grep -E '^/(usr/)?(bin|lib)/.*(test|bench|standin|fixture)' "$work/files"; then
  fail "a test or stand-in binary is in the package"
fi
mkdir -p "$work/x" "$work/ctl" "$work/dbg"
dpkg-deb -x "$deb" "$work/x"
dpkg-deb -e "$deb" "$work/ctl"
dpkg-deb -x "$ddeb" "$work/dbg"
file "$work/x/usr/bin/simpul" | grep -q ', stripped' || fail "/usr/bin/simpul is not stripped"
find "$work/dbg/usr/lib/debug/.build-id" -name '*.debug' | grep -q . ||
  fail "the debug-symbols package holds no .debug file"
grep -qx /etc/simpul/simpul.example.json "$work/ctl/conffiles" || fail "the config is no conffile"
depends="$(dpkg-deb -f "$deb" Depends)"
for lib in libc6 libsqlite3-0 libssl3 libstdc++6 libmariadb3 libpq5 systemd; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
[[ $depends != *doctest* ]] || fail "Depends names doctest"
zcat "$work/x/usr/share/man/man1/simpul.1.gz" > "$work/simpul.1"
MANWIDTH=200 man -l "$work/simpul.1" 2>/dev/null | col -bx | sed -n '/^COMMANDS/,/^EXIT STATUS/p' > "$work/man.txt"
# The man page and the completion name every command there is.
for cmd in $("$work/x/usr/bin/simpul" --help | sed -n '/^Subcommands:/,$p' | awk 'NR>1 && NF {print $1}'); do
  grep -qE "^ +$cmd( |,|$)" "$work/man.txt" || fail "the man page's COMMANDS lack $cmd"
  grep -q "\[\"simpul\"\]=\".*\b$cmd\b" "$work/x/usr/share/bash-completion/completions/simpul" ||
    fail "the bash completion lacks $cmd"
done
man --warnings -l "$work/simpul.1" > /dev/null 2> "$work/man.err"
[ ! -s "$work/man.err" ] || { cat "$work/man.err"; fail "the man page has groff warnings"; }

step "lintian"
lintian --pedantic "$deb" > "$work/lintian.log" 2>&1 || true
grep -E '^[EWX]: ' "$work/lintian.log" && fail "lintian reports errors or warnings"
echo "lintian: $(grep -cE '^[IP]: ' "$work/lintian.log" || true) informational tags"

step "systemd-analyze"
unit="$work/x/lib/systemd/system/simpul.service"
grep -q '^Type=notify$' "$unit" || fail "the unit is not Type=notify"
grep -q '^RestartPreventExitStatus=64 78$' "$unit" || fail "the unit restarts on 64 or 78"
# verify resolves ExecStart= and man: on this machine: point them at the extracted package.
sed "s|/usr/bin/simpul|$work/x/usr/bin/simpul|g" "$unit" > "$work/simpul.service"
MANPATH="$work/x/usr/share/man" systemd-analyze verify "$work/simpul.service" ||
  fail "systemd-analyze verify"
systemd-analyze security --offline=yes --threshold=20 "$work/simpul.service" | tail -1

step "install into a throwaway root"
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
cp /var/lib/dpkg/status "$root/var/lib/dpkg/status"
touch "$root/var/lib/dpkg/available"
# (The copied database lists this machine's packages without their file lists: dpkg says so for
# each one; those lines are dropped.)
dpkg() {
  command dpkg --root="$root" --log=/dev/null --force-script-chrootless --force-not-root "$@" 2>&1 |
    grep -v "files list file for package"
  return "${PIPESTATUS[0]}"
}
dpkg -i "$deb"
command dpkg --root="$root" -s simpul | grep -q '^Status: install ok installed' || fail "dpkg does not list simpul installed"
grep -q '^simpul:' "$root/etc/passwd" || fail "postinst made no simpul user"
version="$("$root/usr/bin/simpul" --version)"
[[ $version == "simpul "* ]] || fail "simpul --version said: $version"
echo "$version"
"$root/usr/bin/simpul" init --config "$root/etc/simpul/simpul.json" --tier kabkota \
  --region 21.71 --node-id kota-batam --zone Asia/Jakarta --store-dir "$root/var/lib/simpul" \
  --calendar "$root/usr/share/simpul/calendars/id.json" --listen 127.0.0.1:0 < /dev/null
[ "$(stat -c %a "$root/etc/simpul/secrets/admin-token")" = 600 ] || fail "the admin token is not 0600"
"$root/usr/bin/simpul" check --config "$root/etc/simpul/simpul.json"
dpkg -r simpul
[ ! -e "$root/usr/bin/simpul" ] || fail "remove left /usr/bin/simpul"
[ -e "$root/etc/simpul/simpul.example.json" ] || fail "remove took the conffile (only purge may)"
dpkg -P simpul
[ ! -e "$root/etc/simpul" ] || fail "purge left /etc/simpul"
[ -d "$root/var/lib/simpul" ] || fail "purge removed the store folder"
echo "package: ok ($(du -k "$deb" | cut -f1) KB, debug symbols $(du -k "$ddeb" | cut -f1) KB)"
