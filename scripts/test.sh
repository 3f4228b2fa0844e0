#!/usr/bin/env bash
# `make test`: start the services the suites use (best effort locally, required under CI), then
# run every suite once. .ci/run installs the services first and calls `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/start-services.sh
# shellcheck disable=SC1091
source .tmp/services.env
npx vitest run "$@"
