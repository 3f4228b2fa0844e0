#!/usr/bin/env bash
# Starts (idempotently) the Debian PostgreSQL 15 cluster the tests use, sets the `postgres` user's
# password so TCP logins on loopback work, and prints the URL as the LAST line of output (callers
# use `| tail -n 1`). Tests create and drop their own databases under this server.
set -euo pipefail

version="${PG_VERSION:-15}"
cluster="${PG_CLUSTER:-main}"
port="${PG_PORT:-5432}"
password="${PG_PASSWORD:-postgres}"

if ! command -v pg_ctlcluster >/dev/null; then
  echo "pg_ctlcluster not found: install PostgreSQL (apt-get install -y postgresql)" >&2
  exit 1
fi

if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
  echo "== creating PostgreSQL $version/$cluster" >&2
  pg_createcluster "$version" "$cluster" --port "$port" >/dev/null
fi

if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c && $4 == "online" { up = 1 } END { exit !up }'; then
  echo "== starting PostgreSQL $version/$cluster" >&2
  pg_ctlcluster "$version" "$cluster" start
fi

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.25
done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "PostgreSQL did not become ready on port $port" >&2; exit 1; }

# Over the local socket (peer auth as the postgres OS user), so this works before any password is set.
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else su postgres -c "$(printf '%q ' "$@")"; fi
}
as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 -c "ALTER USER postgres PASSWORD '$password'" >/dev/null

echo "postgres://postgres:${password}@127.0.0.1:${port}/postgres"
