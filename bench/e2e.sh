#!/usr/bin/env bash
# End-to-end benchmark: Berth vs a raw hardened `docker run` of the same trivial busybox job.
#   bench/e2e.sh [runs=15] [concurrency=2] [bursts=3]
# Needs the engine and base images (./run.sh or ./test.sh set them up). Talks only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-15}"; concurrency="${2:-2}"; bursts="${3:-3}"
scripts/start-dockerd.sh --test
BERTH_SKIP_DEBIAN_IMAGE=1 scripts/base-images.sh
dotnet build src/Berth.Server -c Release --nologo -v quiet -clp:ErrorsOnly

root="$(mktemp -d /tmp/berth-bench-XXXXXX)"
port=18093
dotnet src/Berth.Server/bin/Release/net10.0/Berth.Server.dll --urls "http://127.0.0.1:$port" \
  --Berth:DataRoot="$root" --Berth:Workers="$concurrency" --Auth:SubmitsPerMinute=100000 \
  --Logging:LogLevel:Default=Warning >"$root/server.log" 2>&1 &
server=$!
cleanup() {
  kill $server 2>/dev/null; wait $server 2>/dev/null
  # Job images are retained for the build cache (Build:ImageRetentionSeconds); remove this run's.
  for id in $(ls "$root/jobs" 2>/dev/null); do
    docker images --format '{{.Repository}}:{{.Tag}}' | grep "/job-$id:" | xargs -r docker rmi >/dev/null 2>&1 || true
  done
  rm -rf "$root"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

python3 bench/e2e.py --url "http://127.0.0.1:$port" --runs "$runs" --concurrency "$concurrency" --bursts "$bursts" --scratch "$root"
