# FabriCore build. Every target works on a fresh machine: `make install` brings a Node.js 24
# toolchain into .tools/ when the system one is older than 22 (the machines here ship Node 20,
# too old for vitest, kysely, openai and better-sqlite3) and every target uses it.
SHELL := /bin/bash
.DEFAULT_GOAL := run
ROOT := $(abspath .)
TOOLS := $(ROOT)/.tools
NODE_VERSION ?= 24

SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell [ "$(SYSTEM_NODE_MAJOR)" -lt 22 ] && echo old),old)
  NODE_TOOLCHAIN := $(TOOLS)/node/bin/node
  export PATH := $(TOOLS)/node/bin:$(PATH)
  # node-gyp builds native addons (better-sqlite3) against these headers, not the system's.
  export npm_config_nodedir := $(TOOLS)/node
else
  NODE_TOOLCHAIN :=
endif

TARGET ?=
# The platforms the Core serves (GET /api/nodes/binary/:platform, GET /install.sh): `make build-node`
# builds this host's one as dist/fabricore-node (hard-linked as dist/fabricore-node-<platform>) and
# cross-compiles the others as dist/fabricore-node-<platform>.
NODE_PLATFORMS := linux-x64 linux-arm64
HOST_PLATFORM := linux-$(shell uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')
BUN_TARGET := $(if $(TARGET),--target=bun-$(TARGET),)
NODE_BIN := dist/fabricore-node$(if $(TARGET),-$(TARGET),)
# cpu-features is ssh2's optional native addon (dockerode -> docker-modem -> ssh2); its install
# script is not approved, so it is never built, and ssh2 loads it inside a try. Left external, the
# compiled Node simply runs without it (the Node talks to Docker over its socket, never SSH).
BUN_EXTERNALS := --external cpu-features
# Bytecode compiled at build time: the Node reaches "greeted" in about half the time (it no longer
# parses its 400 KB bundle at every start) for ~4 MB more on disk (BENCHMARKS.md, node-binary). Only for
# the build machine's own platform, where it was measured; a cross build (TARGET=) parses at start.
BUN_BYTECODE := $(if $(TARGET),,--bytecode --format=esm)
# JavaScriptCore's tier-up thresholds ×100 until the Node is connected (main.ts then sets the normal
# policy): code that runs once at start is not JIT-compiled for nothing. ~4 MB less idle RSS, ~7 ms less start.
BUN_JIT := --compile-jit-policy=100
# A compiled Bun program reads .env and bunfig.toml from whatever directory it is started in, and a
# bunfig.toml can preload code: a file dropped in the Node's working directory would run inside it,
# with its key. The Node takes its settings from flags and its environment only.
BUN_NO_AUTOLOAD := --no-compile-autoload-dotenv --no-compile-autoload-bunfig
# FABRICORE_NODE_BUILD_VERSION=1.2.3 make build-node: a Node that reports that version instead of
# node/package.json's (node/src/main.ts; the Core reads it from the build's mark, core/src/nodes/build-mark.ts).
BUN_VERSION := $(if $(FABRICORE_NODE_BUILD_VERSION),--define 'FABRICORE_NODE_BUILD_VERSION="$(FABRICORE_NODE_BUILD_VERSION)"',)
# Every build carries its version as a mark the Core reads without running the file
# (core/src/nodes/build-mark.ts): a rebuild of another version is served and offered as that version.
NODE_BUILD_VERSION := $(or $(FABRICORE_NODE_BUILD_VERSION),$(shell sed -n 's/^  "version": "\([^"]*\)".*/\1/p' node/package.json))
BUN_VERSION += --define 'FABRICORE_NODE_BUILD_MARK="fabricore-node-version=$(NODE_BUILD_VERSION)"'

.PHONY: install run run-core test test-unit test-e2e build build-node build-cli bench lint typecheck clean

$(TOOLS)/node/bin/node:
	@echo "System Node.js is $(SYSTEM_NODE_MAJOR); fetching Node.js $(NODE_VERSION) into .tools/ from the npm registry"
	@rm -rf $(TOOLS)/node $(TOOLS)/tmp && mkdir -p $(TOOLS)/tmp
	@cd $(TOOLS)/tmp && npm pack --silent node-linux-$$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')@$(NODE_VERSION) >/dev/null
	@cd $(TOOLS)/tmp && tar xzf node-linux-*.tgz && mv package $(TOOLS)/node
	@rm -rf $(TOOLS)/tmp
	@$(TOOLS)/node/bin/node --version

node_modules/.install-stamp: $(NODE_TOOLCHAIN) package.json package-lock.json protocol/package.json core/package.json core/ui/package.json node/package.json e2e/package.json bench/package.json cli/package.json
	@if [ -n "$$CI" ] && [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	@touch $@

package-lock.json:
	@true

core/ui/dist/index.html: node_modules/.install-stamp $(shell find core/ui/src core/ui/index.html core/ui/vite.config.ts -type f 2>/dev/null)
	@npm run --silent -w core/ui build

# The command line (cli/): one executable like the Node, rebuilt only when its sources change.
# It starts once per command, so bytecode (parsed at build time) pays off as it does for the Node.
CLI_BIN := dist/fabricore$(if $(TARGET),-$(TARGET),)
$(CLI_BIN): node_modules/.install-stamp $(shell find cli/src protocol/src -name '*.ts' ! -name '*.test.ts' 2>/dev/null) cli/package.json
	@mkdir -p dist
	@npx bun build --compile $(BUN_TARGET) --minify --sourcemap $(BUN_BYTECODE) $(BUN_NO_AUTOLOAD) cli/src/main.ts --outfile $(CLI_BIN)
	@ls -la $(CLI_BIN)

build-cli: $(CLI_BIN)

# A cross build (TARGET=) of the Node does not also cross-build the command line; build-cli does.
build: core/ui/dist/index.html $(if $(TARGET),,$(CLI_BIN))

install: node_modules/.install-stamp build

build-node: install
	@mkdir -p dist
	@npx bun build --compile $(BUN_TARGET) --minify --sourcemap $(BUN_BYTECODE) $(BUN_JIT) $(BUN_NO_AUTOLOAD) $(BUN_EXTERNALS) $(BUN_VERSION) node/src/main.ts --outfile $(NODE_BIN)
	@ls -la $(NODE_BIN)
ifeq ($(TARGET),)
	@ln -f dist/fabricore-node dist/fabricore-node-$(HOST_PLATFORM)
	@for platform in $(filter-out $(HOST_PLATFORM),$(NODE_PLATFORMS)); do $(MAKE) --no-print-directory build-node TARGET=$$platform || exit 1; done
endif

run: install build-node
	@node scripts/dev-run.ts

run-core: install
	@node --max-semi-space-size=16 core/src/main.ts  # flags: core/src/v8-flags.ts

# The UI has its own tsconfig (DOM, bundler resolution); its API types come from the Core's code
# (core/ui/src/api/types.ts), so this is also what catches a Core field renamed under the UI.
typecheck: install
	@npx tsc -p tsconfig.json
	@npx tsc -p core/ui/tsconfig.json

lint: install
	@npx biome check .

test: install build-node build-cli typecheck lint
	@bash scripts/test.sh

bench: install build-node
	@node bench/run.ts

clean:
	rm -rf node_modules */node_modules core/ui/node_modules dist core/ui/dist
