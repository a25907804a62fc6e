#!/usr/bin/env bash
# Runs every test project against a real Docker engine, real SQLite and real HTTP.
# Same set-up as run.sh, but a dockerd started here has no bridge network and no iptables.
#   ./test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh --test
dotnet build Berth.slnx -c Release --nologo -v quiet -clp:ErrorsOnly
status=0
for project in tests/*/*.csproj; do
  echo "==> $project"
  dotnet test "$project" -c Release --no-build --nologo --logger "console;verbosity=minimal" "$@" || status=1
done
exit $status
