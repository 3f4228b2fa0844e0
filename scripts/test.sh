#!/usr/bin/env bash
# `make test`: start the services the suites use (best effort locally, required under CI), then
# run every suite once and close with one plain `N passed, N failed, N skipped` line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/start-services.sh || exit 1
# shellcheck disable=SC1091
source .tmp/services.env
rm -f .tmp/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@"
status=$?
if [ -f .tmp/vitest.json ]; then
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(".tmp/vitest.json", "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  '
fi
exit $status
