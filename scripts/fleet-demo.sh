#!/usr/bin/env bash
# A whole Berth fleet on this machine, on loopback only: a throwaway PostgreSQL cluster, two API servers
# (http://127.0.0.1:8081 and :8082) sharing it, and two agents running jobs on this machine's Docker engine.
#   scripts/fleet-demo.sh        Ctrl-C stops everything and removes what it made (nothing is left behind).
# Logs: printed at start (one file per process, in the demo's temporary directory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf '[fleet-demo] %s\n' "$*" >&2; }

scripts/setup.sh
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing Debian's postgresql (its own cluster is not used)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null
fi
dotnet build src/Berth.Server -c Release --nologo -v quiet -clp:ErrorsOnly >&2
dll="$PWD/src/Berth.Server/bin/Release/net10.0/Berth.Server.dll"
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

work="$(mktemp -d /tmp/berth-fleet-demo.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  trap - EXIT INT TERM
  log "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
  # Agents unmount their jobs' /data when they stop; anything still mounted under the demo is unmounted, never deleted through.
  findmnt -rn -o TARGET | awk -v p="$work/" 'index($0, p) == 1' | sort -r | while read -r m; do umount -l "$m" || true; done
  # The images the agents kept for reuse (Build:ImageRetentionSeconds): tagged berth-<agent instance>/job-*.
  for identity in "$work"/agent*/instance; do
    [ -f "$identity" ] || continue
    instance="$(awk '$1 == "id" { print $2 }' "$identity")"
    [ -n "$instance" ] || continue
    docker images --format '{{.Repository}}:{{.Tag}}' | awk -v p="berth-$instance/" 'index($0, p) == 1' | xargs -r docker rmi -f >/dev/null 2>&1 || true
  done
  rm -rf --one-file-system "$work"
  log "removed $work"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/pg" && chown postgres:postgres "$work" "$work/pg"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -U berth -E UTF8 --auth-local=trust --auth-host=reject >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/postgres.log" -w \
  -o "-k $work -p $port -c listen_addresses=''" start >/dev/null
runuser -u postgres -- "$pgbin/createdb" -h "$work" -p "$port" -U berth berth
connection="Host=$work;Port=$port;Username=berth;Database=berth"
log "PostgreSQL: socket in $work, port $port (no TCP)"

token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sha="$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
for i in 1 2; do
  dotnet "$dll" --urls "http://127.0.0.1:808$i" --Berth:DataRoot="$work/api$i" --Berth:Workers=0 \
    --Store:Provider=postgres --Store:ConnectionString="$connection" \
    --Agents:Tokens:0:Name=demo --Agents:Tokens:0:Sha256="$sha" >"$work/api$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:808$i/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fs "http://127.0.0.1:808$i/readyz" >/dev/null || { log "API server $i did not become ready; see $work/api$i.log"; exit 1; }
done
for i in 1 2; do
  BERTH_AGENT_TOKEN="$token" dotnet "$dll" agent --server http://127.0.0.1:8081 --server http://127.0.0.1:8082 \
    --name "demo-agent-$i" --workers 1 --data-root "$work/agent$i" >"$work/agent$i.log" 2>&1 &
  pids+=($!)
done

cat <<TXT

  A Berth fleet is running (Ctrl-C stops it and removes everything):
    API servers   http://127.0.0.1:8081   http://127.0.0.1:8082   (one PostgreSQL, no keys: loopback only)
    agents        demo-agent-1, demo-agent-2 (this machine's Docker engine, data under $work)
    logs          $work/{api1,api2,agent1,agent2}.log, $work/postgres.log

  Submit on one server, read it on the other (a Dockerfile in the current directory):
    curl -s -H 'Content-Type: text/plain' --data-binary @Dockerfile http://127.0.0.1:8081/api/v1/jobs
    curl -s http://127.0.0.1:8082/api/v1/jobs/<id>         # status, performance, agent, attempts
    curl -s http://127.0.0.1:8082/api/v1/jobs/<id>/logs

TXT
wait -n "${pids[@]}" || true
log "a process of the fleet stopped on its own; see its log above"
