#!/usr/bin/env bash
# Builds the offline base images when the engine does not already have them (there is no registry):
#   busybox:latest        from Debian's busybox-static (/tmp mode 1777, /etc/passwd with nobody)
#   debian:bookworm-slim  from an mmdebstrap minbase bootstrap (apt caches, lists, resolv.conf removed)
# Set BERTH_SKIP_DEBIAN_IMAGE=1 to skip the Debian image.
set -euo pipefail
log() { printf '[images] %s\n' "$*" >&2; }
has() { docker image inspect "$1" >/dev/null 2>&1; }

if ! has busybox:latest; then
  log "building busybox:latest from busybox-static"
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,etc,tmp,data,proc,sys,dev,root,home}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  tar -C "$root" --numeric-owner -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - busybox:latest >/dev/null
  rm -rf "$root"; trap - EXIT
fi

if [ "${BERTH_SKIP_DEBIAN_IMAGE:-0}" != 1 ] && ! has debian:bookworm-slim; then
  log "building debian:bookworm-slim with mmdebstrap (about 20 s)"
  mirror="$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  mmdebstrap --quiet --variant=minbase --mode=root \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/etc/resolv.conf; chmod 1777 "$1"/tmp' \
    bookworm - "$mirror" | docker import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
fi
