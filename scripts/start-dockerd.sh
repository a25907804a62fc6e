#!/usr/bin/env bash
# Starts dockerd in the background unless an engine already answers on /var/run/docker.sock.
#   scripts/start-dockerd.sh [--test]
# --test: no bridge network and no iptables (job containers never need one; tests send nothing
#         off the machine). Never starts a second dockerd next to a running one.
# Both modes register gVisor as the runtime "runsc" (Sandbox:Runtime=runsc) when it is installed:
# Debian's runsc only starts with the ptrace platform and its own networking off.
# Both modes cap every container's log by default (json-file, one file of at most 16 MiB): Berth sets
# this itself on job containers, but cannot on the containers the engine runs for build steps.
set -euo pipefail
sock=/var/run/docker.sock
log() { printf '[dockerd] %s\n' "$*" >&2; }
answers() { curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }

entries=('"log-driver": "json-file"' '"log-opts": { "max-size": "16m", "max-file": "1" }')
if [ "${1:-}" = "--test" ]; then
  cfg=/etc/docker/berth-test-daemon.json
  entries+=('"bridge": "none"' '"iptables": false' '"ip-forward": false' '"ip-masq": false')
else
  cfg=/etc/docker/berth-daemon.json
fi
if command -v runsc >/dev/null 2>&1; then
  entries+=("\"runtimes\": { \"runsc\": { \"path\": \"$(command -v runsc)\", \"runtimeArgs\": [\"--platform=ptrace\", \"--network=none\"] } }")
fi
mkdir -p /etc/docker
json="$(printf '%s, ' "${entries[@]}")"
printf '{ %s }\n' "${json%, }" > "$cfg.new"

if answers; then
  # A dockerd we started with this config file picks up a new runtime on SIGHUP; any other is left alone.
  pid="$(pgrep -x dockerd | head -n1 || true)"
  if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "--config-file $cfg" && ! cmp -s "$cfg.new" "$cfg"; then
    mv "$cfg.new" "$cfg"
    kill -HUP "$pid"
    log "reloaded $cfg (runtimes; a changed log-driver or log-opts applies from the next dockerd start)"
    sleep 1
  else
    rm -f "$cfg.new"
  fi
  exit 0
fi
mv "$cfg.new" "$cfg"
if pgrep -x dockerd >/dev/null 2>&1; then
  log "a dockerd process exists but does not answer yet; waiting for it"
else
  log "starting dockerd with $cfg"
  mkdir -p /var/log
  nohup dockerd --host "unix://$sock" --config-file "$cfg" >>/var/log/berth-dockerd.log 2>&1 &
fi
for _ in $(seq 1 300); do
  if answers; then log "engine ready"; exit 0; fi
  sleep 0.1
done
log "dockerd did not answer on $sock within 30 s; see /var/log/berth-dockerd.log"
exit 1
