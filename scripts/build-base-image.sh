#!/usr/bin/env bash
# Makes the Debian base the Core image builds FROM (Dockerfile ARG BASE), without a container
# registry: debootstrap a minbase bookworm (with ca-certificates and curl, which the image's build
# stage needs to fetch Node.js from the npm registry), then `docker import` it.
# The root filesystem tarball is cached in .tmp/ (debootstrap takes a minute or more); delete
# .tmp/debian-bookworm-rootfs.tar.gz to make a fresh one. Needs root and debootstrap (.ci/run
# installs it). Usage: scripts/build-base-image.sh [IMAGE_TAG]   (default fabricore-debian:bookworm)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-fabricore-debian:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=.tmp/debian-bookworm-rootfs.tar.gz
mkdir -p .tmp
if [ ! -s "$cache" ]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  root=$(mktemp -d .tmp/debian-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "== debootstrap bookworm (minbase) from $mirror"
  debootstrap --variant=minbase --include=ca-certificates,curl bookworm "$root" "$mirror" >.tmp/debootstrap.log 2>&1 ||
    { tail -20 .tmp/debootstrap.log >&2; exit 1; }
  # What a container needs no copy of: downloaded .debs, package lists (the build stage runs no apt).
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  tar -C "$root" -c . | gzip -1 >"$cache.part"
  mv "$cache.part" "$cache"
fi
docker import "$cache" "$tag" >/dev/null
echo "== $tag imported from $cache"
