#!/usr/bin/env bash
# Starts (idempotently) the services the test suites use and writes their URLs to
# .tmp/services.env: Docker (no bridge: test containers run with --network none), PostgreSQL and
# Redis on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp

if ! docker info >/dev/null 2>&1; then
  echo "== starting dockerd"
  (dockerd --bridge=none --iptables=false --ip6tables=false >.tmp/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -20 .tmp/dockerd.log; exit 1; }
fi

pg_url=$(bash scripts/start-postgres.sh | tail -n 1)

if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  echo "== starting redis"
  redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no >/dev/null
  for _ in $(seq 1 40); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.25; done
fi

cat >.tmp/services.env <<ENV
export FABRICORE_TEST_POSTGRES_URL=$pg_url
export FABRICORE_TEST_REDIS_URL=redis://127.0.0.1:6379
export FABRICORE_TEST_DOCKER=1
export FABRICORE_TEST_CHROMIUM=/usr/bin/chromium
ENV
echo "== services ready"
