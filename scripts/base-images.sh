#!/usr/bin/env bash
# Builds the offline base images when the engine does not already have them (there is no registry):
#   busybox:latest        from Debian's busybox-static (/tmp mode 1777, /etc/passwd with nobody)
#   debian:bookworm-slim  from an mmdebstrap minbase bootstrap (apt caches, lists, resolv.conf removed)
# Set BERTH_SKIP_DEBIAN_IMAGE=1 to skip the Debian image. The Debian mirror is the one this machine's apt
# uses for bookworm (no mirror is written into Berth). Without one, or when the bootstrap fails, the Debian
# image is not built and says why; the set-up goes on (only Dockerfiles FROM debian:bookworm-slim need it).
set -euo pipefail
log() { printf '[images] %s\n' "$*" >&2; }
has() { docker image inspect "$1" >/dev/null 2>&1; }

# The first URI of an enabled apt source serving "<suite> main", in apt's own order: /etc/apt/sources.list,
# then sources.list.d/*.list (one-line format) and sources.list.d/*.sources (deb822), by file name.
apt_mirror() {
  local suite="$1" file uri
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
    [ -f "$file" ] || continue
    case "$file" in
      *.sources) uri="$(awk -v suite="$suite" '
          function has(list, word) { return index(" " list " ", " " word " ") > 0 }
          function stanza_end() {
            if (has(f["types"], "deb") && f["enabled"] != "no" && has(f["suites"], suite) && has(f["components"], "main")) {
              split(f["uris"], uri, " "); print uri[1]; found = 1; exit
            }
            delete f; key = ""
          }
          /^#/ { next }
          /^[ \t]*$/ { stanza_end(); next }
          /^[ \t]/ { if (key != "") f[key] = f[key] " " $0; next }
          { key = tolower(substr($0, 1, index($0, ":") - 1)); f[key] = substr($0, index($0, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", f[key]) }
          END { if (!found) stanza_end() }' "$file")" ;;
      */sources.list|*.list) uri="$(awk -v suite="$suite" '
          { sub(/#.*/, "") }
          $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            if ($(i + 1) != suite) next
            for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit }
          }' "$file")" ;;
      *) uri='' ;;
    esac
    if [ -n "$uri" ]; then
      printf '%s\n' "$uri"
      return 0
    fi
  done
  return 1
}

# mmdebstrap into a file first: a bootstrap that fails half-way must not become an image.
build_debian() {
  local mirror work
  mirror="$(apt_mirror bookworm)" || mirror=''
  if [ -z "$mirror" ]; then
    log "no Debian mirror: no enabled apt source serves 'bookworm main' in /etc/apt/sources.list,"
    log "/etc/apt/sources.list.d/*.list or /etc/apt/sources.list.d/*.sources. Add the mirror this machine"
    log "uses for Debian 12 there (e.g. a line 'deb <mirror URL> bookworm main' in a .list file)."
    return 1
  fi
  log "building debian:bookworm-slim with mmdebstrap from $mirror (about 20 s)"
  work="$(mktemp -d)"
  if mmdebstrap --quiet --variant=minbase --mode=root \
       --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/etc/resolv.conf; chmod 1777 "$1"/tmp' \
       bookworm "$work/debian.tar" "$mirror" \
     && docker import -c 'CMD ["bash"]' - debian:bookworm-slim < "$work/debian.tar" >/dev/null; then
    rm -rf "$work"
    return 0
  fi
  rm -rf "$work"
  log "mmdebstrap from $mirror or docker import failed (see above)"
  return 1
}

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
  build_debian || log "debian:bookworm-slim was NOT built; Dockerfiles FROM it fail until it exists. Fix the above, or set BERTH_SKIP_DEBIAN_IMAGE=1 to skip this step."
fi
