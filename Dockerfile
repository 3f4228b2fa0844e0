# The FabriCore Core. Node.js 24 runs the TypeScript sources directly (type stripping), so the
# image is the repository with its production dependencies and the built UI: `node core/src/main.ts`.
#
# No image is pulled from a registry: BASE is a Debian bookworm the project makes itself
# (`scripts/build-base-image.sh`: debootstrap + docker import; it must have ca-certificates and
# curl), and Node.js comes from the npm registry as the Makefile's toolchain does.
#   scripts/build-base-image.sh && docker build --network host -t fabricore-core:local .
ARG BASE=fabricore-debian:bookworm

FROM ${BASE} AS toolchain
# Pinned, so two builds of one commit get the same runtime; the tarballs' sha512 is checked
# against what the registry publishes (deploy/image/fetch-npm-package.sh).
ARG NODE_VERSION=24.22.3
ARG NPM_VERSION=11.19.1
# Extra CAs for a build machine behind a TLS-inspecting proxy (deploy/image/ca/README.md); the
# final stage starts from the base again, so they stay in the build stages.
COPY deploy/image/ca/ /usr/local/share/ca-certificates/build/
RUN update-ca-certificates >/dev/null
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY deploy/image/fetch-npm-package.sh /usr/local/bin/fetch-npm-package
RUN arch="$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')" \
 && fetch-npm-package "node-linux-$arch" "$NODE_VERSION" /opt/node \
 && fetch-npm-package npm "$NPM_VERSION" /opt/npm \
 && printf '#!/bin/sh\nexec /opt/node/bin/node /opt/npm/bin/npm-cli.js "$@"\n' >/opt/node/bin/npm \
 && chmod +x /opt/node/bin/npm \
 && /opt/node/bin/node --version
ENV PATH=/opt/node/bin:$PATH

FROM toolchain AS build
WORKDIR /app
# Manifests first: the dependency layer is rebuilt only when they change. No install scripts:
# better-sqlite3 loads the addon it ships for linux-x64/arm64 (lib/binding.js), so its default
# `node-gyp rebuild` would only need a compiler for nothing; the package.json allowScripts list
# denies the rest, and bun (for `make build-node`) is not part of the Core image.
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY core/package.json core/
COPY core/ui/package.json core/ui/
COPY node/package.json node/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
COPY cli/package.json cli/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run -w core/ui build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf core/ui/node_modules/.vite /root/.npm

FROM ${BASE}
COPY --from=toolchain /opt/node /opt/node
ENV PATH=/opt/node/bin:$PATH
# The same uid as the official node images' `node` user, so volumes made for those keep working.
RUN useradd --uid 1000 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin node \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=build /app /app
# SQLite and the generated master key live in /data (single Core); in cluster mode the replicas
# share one /data volume only for the master key file (see docs/CLUSTER.md).
ENV NODE_ENV=production \
    FABRICORE_HOST=0.0.0.0 \
    FABRICORE_PORT=8080 \
    FABRICORE_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# V8 flags: core/src/v8-flags.ts (why), kept in step by core/src/v8-flags.test.ts.
CMD ["node", "--max-semi-space-size=16", "core/src/main.ts"]
