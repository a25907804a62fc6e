#!/usr/bin/env bash
# Starts dockerd in the background unless an engine already answers on /var/run/docker.sock.
#   scripts/start-dockerd.sh [--test]
# --test: no bridge network and no iptables (job containers never need one; tests send nothing
#         off the machine). Never starts a second dockerd next to a running one.
set -euo pipefail
sock=/var/run/docker.sock
log() { printf '[dockerd] %s\n' "$*" >&2; }

answers() { curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }

if answers; then exit 0; fi
if pgrep -x dockerd >/dev/null 2>&1; then
  log "a dockerd process exists but does not answer yet; waiting for it"
else
  args=(--host "unix://$sock")
  if [ "${1:-}" = "--test" ]; then
    cfg=/etc/docker/berth-test-daemon.json
    mkdir -p /etc/docker
    printf '{ "bridge": "none", "iptables": false, "ip-forward": false, "ip-masq": false }\n' > "$cfg"
    args+=(--config-file "$cfg")
    log "starting dockerd (no bridge network, no iptables)"
  else
    log "starting dockerd (default networking)"
  fi
  mkdir -p /var/log
  nohup dockerd "${args[@]}" >>/var/log/berth-dockerd.log 2>&1 &
fi
for _ in $(seq 1 300); do
  if answers; then log "engine ready"; exit 0; fi
  sleep 0.1
done
log "dockerd did not answer on $sock within 30 s; see /var/log/berth-dockerd.log"
exit 1
