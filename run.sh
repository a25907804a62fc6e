#!/usr/bin/env bash
# Starts Berth in the foreground on http://127.0.0.1:8080 after an idempotent set-up:
# Debian packages, dockerd (default networking), offline base images, the build.
#   ./run.sh [server args]     e.g. ./run.sh --urls http://127.0.0.1:18080 --Berth:DataRoot=/tmp/berth
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh
dotnet build src/Berth.Server -c Release --nologo -v quiet -clp:ErrorsOnly >&2
exec dotnet src/Berth.Server/bin/Release/net10.0/Berth.Server.dll "$@"
