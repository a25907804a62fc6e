#!/usr/bin/env bash
# Idempotent machine set-up shared by run.sh and test.sh.
#   scripts/setup.sh [--test]
# --test: when dockerd has to be started here, start it with no bridge network and no iptables,
#         so that tests can send no traffic off the machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode="${1:-}"

log() { printf '[setup] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v docker >/dev/null 2>&1 || need_pkgs+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need_pkgs+=(busybox-static)
command -v mmdebstrap >/dev/null 2>&1 || need_pkgs+=(mmdebstrap)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
command -v mkfs.ext4 >/dev/null 2>&1 || need_pkgs+=(e2fsprogs)
command -v runsc >/dev/null 2>&1 || need_pkgs+=(runsc)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need_pkgs+=(ca-certificates)
if [ "$mode" = "--test" ]; then
  # The seccomp tests compile a small static probe on the host.
  command -v gcc >/dev/null 2>&1 || need_pkgs+=(gcc)
  [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need_pkgs+=(libc6-dev)
  # The Go build-info tests build small Go programs (offline, vendored) with Debian's Go.
  command -v go >/dev/null 2>&1 || need_pkgs+=(golang-go)
  # The PostgreSQL store and fleet tests start throwaway clusters of their own (never the system one).
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
  # The dashboard's browser tests drive Debian's chromium with Playwright (no browser download); fonts for screenshots.
  [ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
  dpkg -s fonts-liberation >/dev/null 2>&1 || need_pkgs+=(fonts-liberation)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null 2>&1 || log "apt-get update reported errors (continuing)"
  apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

"$here/start-dockerd.sh" "$mode"
"$here/base-images.sh"

if ! command -v dotnet >/dev/null 2>&1; then
  log "the .NET SDK 10 is required (dotnet on PATH)"; exit 1
fi
