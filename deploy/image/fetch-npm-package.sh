#!/bin/sh
# fetch-npm-package.sh NAME VERSION DEST: downloads one package tarball from the npm registry,
# checks it against the sha512 integrity the registry publishes for it, and unpacks it into DEST.
# The image's Node.js toolchain comes this way (node-linux-<arch> and npm), as the Makefile's does:
# the npm registry is reachable where container registries are not.
set -eu
name=$1 version=$2 dest=$3
registry=${NPM_REGISTRY:-https://registry.npmjs.org}
meta=$(curl -fsSL --retry 3 "$registry/$name/$version")
# The version document is small, flat JSON: the two fields are read with sed (no jq in the base).
tarball=$(printf '%s' "$meta" | sed -n 's/.*"tarball": *"\([^"]*\)".*/\1/p')
integrity=$(printf '%s' "$meta" | sed -n 's/.*"integrity": *"sha512-\([^"]*\)".*/\1/p')
if [ -z "$tarball" ] || [ -z "$integrity" ]; then
  echo "fetch-npm-package: no tarball/sha512 integrity for $name@$version at $registry" >&2
  exit 1
fi
tmp=$(mktemp)
curl -fsSL --retry 3 "$tarball" -o "$tmp"
actual=$(openssl dgst -sha512 -binary "$tmp" | base64 -w0)
if [ "$actual" != "$integrity" ]; then
  echo "fetch-npm-package: $name@$version sha512 mismatch (registry $integrity, got $actual)" >&2
  exit 1
fi
mkdir -p "$dest"
tar -xzf "$tmp" -C "$dest" --strip-components=1 --no-same-owner
rm -f "$tmp"
echo "fetch-npm-package: $name@$version -> $dest (sha512 verified)"
