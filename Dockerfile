# The FabriCore Core. Node.js 24 runs the TypeScript sources directly (type stripping), so the
# image is the repository with its dependencies and the built UI: `node core/src/main.ts`.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its addon when no prebuilt binary matches this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Manifests first: the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY core/package.json core/
COPY core/ui/package.json core/ui/
COPY node/package.json node/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
COPY cli/package.json cli/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run -w core/ui build

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
# SQLite and the generated master key live in /data (single Core); in cluster mode the replicas
# share one /data volume only for the master key file (see docs/CLUSTER.md).
RUN mkdir -p /data && chown node:node /data
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
