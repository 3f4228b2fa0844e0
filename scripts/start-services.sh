#!/usr/bin/env bash
# Starts (idempotently) the services the test suites use and writes their settings to
# .tmp/services.env: Docker (no bridge: test containers run with --network none), PostgreSQL and
# Redis on loopback, Chromium's path. Under CI=true a missing service is an error (its suites must
# fail, not skip); on a developer machine it is reported and its suites skip.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
env_file=.tmp/services.env
: >"$env_file"
missing=()

if command -v dockerd >/dev/null && command -v docker >/dev/null; then
  if ! docker info >/dev/null 2>&1; then
    echo "== starting dockerd"
    (dockerd --bridge=none --iptables=false --ip6tables=false >.tmp/dockerd.log 2>&1 &)
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  if docker info >/dev/null 2>&1; then echo "export FABRICORE_TEST_DOCKER=1" >>"$env_file"; else
    echo "dockerd did not start:"; tail -20 .tmp/dockerd.log; missing+=(docker)
  fi
else
  missing+=(docker)
fi

if command -v pg_ctlcluster >/dev/null; then
  if pg_url=$(bash scripts/start-postgres.sh | tail -n 1) && [ -n "$pg_url" ]; then
    echo "export FABRICORE_TEST_POSTGRES_URL=$pg_url" >>"$env_file"
  else
    missing+=(postgresql)
  fi
else
  missing+=(postgresql)
fi

if command -v redis-server >/dev/null; then
  if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
    echo "== starting redis"
    redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no >/dev/null
    for _ in $(seq 1 40); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.25; done
  fi
  if redis-cli -p 6379 ping >/dev/null 2>&1; then echo "export FABRICORE_TEST_REDIS_URL=redis://127.0.0.1:6379" >>"$env_file"; else missing+=(redis); fi
else
  missing+=(redis)
fi

if command -v chromium >/dev/null; then echo "export FABRICORE_TEST_CHROMIUM=$(command -v chromium)" >>"$env_file"; else missing+=(chromium); fi

# Tools, not services, but their suites fail under CI=true the same way when they are missing.
command -v promtool >/dev/null || missing+=("promtool (prometheus)")
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v docker-compose >/dev/null || missing+=(docker-compose)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "!! services missing under CI: ${missing[*]} (.ci/run installs them)"; exit 1
  fi
  echo "== not available here: ${missing[*]} — their suites will skip (they fail under CI=true)"
fi
echo "== services ready"
