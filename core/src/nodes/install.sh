#!/bin/sh
# FabriCore Node installer, served by a FabriCore Core at GET /install.sh:
#
#   curl -fsSL https://core.example.com/install.sh | sudo sh -s -- --token fcn_…
#
# Downloads the Node for this host's platform from the Core, checks its SHA-256 against the digest
# the Core wrote into this script (a mismatch installs nothing), installs /usr/local/bin/fabricore-node
# and a sandboxed systemd unit, and starts it. Run it again to upgrade in place. With --auto-update
# the executable lives in the service's own state directory (/var/lib/fabricore-node/bin/, the one
# place the unit may write) and /usr/local/bin/fabricore-node is a symlink to it, so the Node can
# replace it with a build the Core signed. POSIX sh: dash and busybox ash; needs curl or wget, and
# sha256sum (coreutils or busybox), shasum or openssl.
set -eu

# ---- written by the Core when it served this script ----
CORE_URL=@CORE_URL@
NODE_VERSION=@NODE_VERSION@
SHA256_LINUX_X64=@SHA256_LINUX_X64@
SHA256_LINUX_ARM64=@SHA256_LINUX_ARM64@
# 1 when CORE_URL is plain http:// to a host that is not loopback: the Node refuses that without
# --insecure, so the unit passes it (and this script says so).
CORE_INSECURE=@CORE_INSECURE@
# ---------------------------------------------------------

usage() {
  cat <<EOF
Usage: curl -fsSL $CORE_URL/install.sh | sudo sh -s -- [options]

  --token fcn_...     the Node's enrollment token (from the Core's enroll dialog); needed at the
                      first install, kept in /etc/fabricore/node.env (mode 0600)
  --read-root DIR     read_file may read below DIR (repeatable); the unit makes DIR read-only
  --allow-exec        offer exec_command (one program with its arguments, no shell)
  --docker            the Node may run MCP servers in Docker: its service joins the docker group
  --auto-update       the Node updates itself to each version the Core serves (checked against the
                      Core's release key): the executable goes to /var/lib/fabricore-node/bin/,
                      which the service may write, and /usr/local/bin/fabricore-node links to it
  --core URL          the Core as this host reaches it (default $CORE_URL)
  --binary-url URL    download the executable from here (a mirror) instead of the Core; the
                      digest is still the Core's
  --no-start          install and enable, but do not start the service
  --uninstall         stop and remove the service, the executable (and its self-update copies)
                      and the token file (the Node's key in /var/lib/fabricore-node stays; add
                      --purge to remove it too)
  --root DIR          install below DIR (an image being built); systemctl is not called
  --help              this text
EOF
}

say() { printf 'fabricore-node: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

TOKEN=''
READ_ROOTS=''
ALLOW_EXEC=0
DOCKER=0
AUTO_UPDATE=0
NO_START=0
UNINSTALL=0
PURGE=0
ROOT=''
BINARY_URL=''

# A value systemd and the shell both take literally: no whitespace, quotes, backslash, $ or %
# (systemd specifiers), so nothing in a unit line can be read two ways.
plain_value() {
  case $1 in
  '' | *[[:space:]]* | *\"* | *\'* | *\\* | *\$* | *%* | *\`*) return 1 ;;
  esac
  return 0
}

need_value() {
  [ "$#" -ge 2 ] || die "$1 needs a value"
  case $2 in --*) die "$1 needs a value" ;; esac
}

while [ "$#" -gt 0 ]; do
  case $1 in
  --token) need_value "$@"; TOKEN=$2; shift 2 ;;
  --token=*) TOKEN=${1#*=}; shift ;;
  --read-root) need_value "$@"; READ_ROOTS="$READ_ROOTS $2"; shift 2 ;;
  --read-root=*) READ_ROOTS="$READ_ROOTS ${1#*=}"; shift ;;
  --allow-exec) ALLOW_EXEC=1; shift ;;
  --docker) DOCKER=1; shift ;;
  --auto-update) AUTO_UPDATE=1; shift ;;
  --core) need_value "$@"; CORE_URL=$2; CORE_INSECURE=''; shift 2 ;;
  --core=*) CORE_URL=${1#*=}; CORE_INSECURE=''; shift ;;
  --binary-url) need_value "$@"; BINARY_URL=$2; shift 2 ;;
  --binary-url=*) BINARY_URL=${1#*=}; shift ;;
  --no-start) NO_START=1; shift ;;
  --uninstall) UNINSTALL=1; shift ;;
  --purge) PURGE=1; shift ;;
  --root) need_value "$@"; ROOT=$2; shift 2 ;;
  --root=*) ROOT=${1#*=}; shift ;;
  --labels | --labels=*)
    die "labels belong to the Node's record on the Core: set them when you create the Node (Enroll dialog, or POST /api/nodes {name, labels}); the Node itself has no label setting" ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option: $1" ;;
  esac
done

BIN="$ROOT/usr/local/bin/fabricore-node"
DATA_DIR=/var/lib/fabricore-node
# --auto-update: the executable the Node may replace, in the unit's state directory (its only
# writable place); $BIN is a symlink to it. Absolute as the installed system sees it (not $ROOT).
SELF_DIR=$DATA_DIR/bin
UNIT="$ROOT/etc/systemd/system/fabricore-node.service"
ENV_DIR="$ROOT/etc/fabricore"
ENV_FILE="$ENV_DIR/node.env"

if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
  die "run as root: curl -fsSL $CORE_URL/install.sh | sudo sh -s -- ..."
fi
if [ -n "$ROOT" ]; then
  case $ROOT in /*) ;; *) die "--root must be an absolute directory" ;; esac
  [ -d "$ROOT" ] || die "--root $ROOT: not a directory"
fi

# systemctl only where systemd runs this system (not in a container, chroot or --root image).
have_systemd() {
  [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

if [ "$UNINSTALL" = 1 ]; then
  if have_systemd; then
    systemctl disable --now fabricore-node.service >/dev/null 2>&1 || true
  fi
  rm -f "$UNIT" "$BIN" "$ENV_FILE"
  # The self-updating executable, the previous one it keeps and a download in progress.
  rm -rf "$ROOT$SELF_DIR" "$ROOT$DATA_DIR/update.json"
  rmdir "$ENV_DIR" 2>/dev/null || true
  if have_systemd; then systemctl daemon-reload; fi
  if [ "$PURGE" = 1 ]; then
    rm -rf "$ROOT$DATA_DIR" "$ROOT/var/lib/private/fabricore-node"
    say "removed the Node, its unit, its token file and its data (its key: the Core must enroll it anew)"
  else
    say "removed the Node, its unit and its token file; its key stays in $DATA_DIR (--purge removes it)"
  fi
  exit 0
fi

# ---- checks: nothing is written before all of them pass ----
case $CORE_URL in
http://* | https://*) ;;
*) die "--core must be http(s)://host[:port], got $CORE_URL" ;;
esac
plain_value "$CORE_URL" || die "--core $CORE_URL: no spaces, quotes, \\, \$ or %"
CORE_URL=${CORE_URL%/}
if [ -z "$CORE_INSECURE" ]; then
  # --core given: the same rule as the Node's (plain http only to this host without --insecure).
  CORE_INSECURE=0
  case $CORE_URL in
  http://localhost* | http://127.* | 'http://[::1]'*) ;;
  http://*) CORE_INSECURE=1 ;;
  esac
fi
if [ -n "$TOKEN" ]; then
  case $TOKEN in
  fcn_*) ;;
  *) die "--token must be the Node's enrollment token (it starts with fcn_)" ;;
  esac
  case ${TOKEN#fcn_} in
  '' | *[!A-Za-z0-9_-]*) die "--token: an enrollment token is fcn_ followed by letters, digits, _ and -" ;;
  esac
elif [ ! -f "$ENV_FILE" ]; then
  die "--token fcn_... is needed at the first install (the Core's enroll dialog shows it)"
fi
for dir in $READ_ROOTS; do
  case $dir in /*) ;; *) die "--read-root $dir: must be an absolute directory" ;; esac
  plain_value "$dir" || die "--read-root $dir: no spaces, quotes, \\, \$ or %"
  [ -d "$ROOT$dir" ] || die "--read-root $dir: not an existing directory"
done

[ "$(uname -s)" = Linux ] || die "the Node runs on Linux only (this is $(uname -s))"
case $(uname -m) in
x86_64 | amd64) PLATFORM=linux-x64 EXPECTED=$SHA256_LINUX_X64 ;;
aarch64 | arm64) PLATFORM=linux-arm64 EXPECTED=$SHA256_LINUX_ARM64 ;;
*) die "no Node build for $(uname -m) (the Core serves linux-x64 and linux-arm64)" ;;
esac
[ -n "$EXPECTED" ] || die "the Core has no $PLATFORM build (run make build-node on the Core)"
# The executable links against glibc; a musl-only system (Alpine) cannot start it.
if ! ls /lib*/ld-linux* /lib/*/ld-linux* >/dev/null 2>&1 && ls /lib/ld-musl-* >/dev/null 2>&1; then
  die "this system uses musl libc (Alpine?); the Node needs glibc (Debian, Ubuntu, RHEL, ...)"
fi

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --proto '=http,https' --retry 3 --compressed -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  die "needs curl or wget to download the Node"
fi
if command -v sha256sum >/dev/null 2>&1; then
  digest() { out=$(sha256sum "$1") && printf '%s' "${out%% *}"; }
elif command -v shasum >/dev/null 2>&1; then
  digest() { out=$(shasum -a 256 "$1") && printf '%s' "${out%% *}"; }
elif command -v openssl >/dev/null 2>&1; then
  digest() { out=$(openssl dgst -sha256 -r "$1") && printf '%s' "${out%% *}"; }
else
  die "needs sha256sum, shasum or openssl to check the download"
fi

if [ "$CORE_INSECURE" = 1 ]; then
  say "warning: $CORE_URL is plain http:// across the network: this download and the Node's traffic"
  say "         are not encrypted, and the unit passes --insecure. Prefer an https:// Core URL."
fi

# ---- the executable ----
WORK="${TMPDIR:-/tmp}/fabricore-install.$$"
mkdir -m 0700 "$WORK" || die "cannot make $WORK"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# Where the executable goes: /usr/local/bin itself, or (--auto-update) the state directory, which
# the unit lets the service write, with /usr/local/bin/fabricore-node a symlink to it.
if [ "$AUTO_UPDATE" = 1 ]; then TARGET=$ROOT$SELF_DIR/fabricore-node; else TARGET=$BIN; fi

# "uid:gid" of a file (ls -n: POSIX, busybox has it; stat's options differ between them). The
# names are this script's own fixed paths, so ls's output is not ambiguous here.
# shellcheck disable=SC2012
owner_of() { ls -ldn "$1" | { read -r _ _ uid gid _ && printf '%s:%s' "$uid" "$gid"; }; }

if [ ! -L "$TARGET" ] && [ -f "$TARGET" ] && [ "$(digest "$TARGET")" = "$EXPECTED" ]; then
  say "$TARGET is already version $NODE_VERSION ($PLATFORM, sha256 $EXPECTED)"
  UPDATED=0
else
  URL=${BINARY_URL:-$CORE_URL/api/nodes/binary/$PLATFORM}
  say "downloading the Node $NODE_VERSION for $PLATFORM from $URL"
  fetch "$URL" "$WORK/fabricore-node" || die "download from $URL failed; nothing was installed"
  ACTUAL=$(digest "$WORK/fabricore-node")
  if [ "$ACTUAL" != "$EXPECTED" ]; then
    die "the download's SHA-256 is $ACTUAL, the Core says $EXPECTED: refusing it; nothing was installed"
  fi
  chmod 0755 "$WORK/fabricore-node"
  if [ -z "$ROOT" ]; then
    "$WORK/fabricore-node" --version >/dev/null 2>&1 || die "the downloaded Node does not run on this host; nothing was installed"
  fi
  if [ "$AUTO_UPDATE" = 1 ]; then
    # The unit's StateDirectory, made as systemd would (0700); systemd moves a plain directory into
    # /var/lib/private/ for DynamicUser at the first start and gives it (all of it) to the service.
    mkdir -p "$ROOT/var/lib"
    [ -e "$ROOT$DATA_DIR" ] || mkdir -m 0700 "$ROOT$DATA_DIR"
    [ -d "$ROOT$SELF_DIR" ] || mkdir -m 0700 "$ROOT$SELF_DIR"
  fi
  mkdir -p "${TARGET%/*}"
  # Copied beside the target first, then renamed over it: a running Node keeps its old file, and
  # nobody ever sees a half-written executable at $TARGET.
  cp "$WORK/fabricore-node" "$TARGET.new.$$"
  chmod 0755 "$TARGET.new.$$"
  if [ "$AUTO_UPDATE" = 1 ]; then
    # Owned like its directory (the service's user, once systemd started it): the Node keeps the
    # running file as a hard link when it updates, which the kernel refuses for another user's file.
    OWNER=$(owner_of "$ROOT$SELF_DIR")
    [ "$OWNER" = "$(owner_of "$TARGET.new.$$")" ] || chown "$OWNER" "$TARGET.new.$$"
  fi
  mv -f "$TARGET.new.$$" "$TARGET"
  say "installed $TARGET (sha256 $EXPECTED)"
  UPDATED=1
fi
mkdir -p "${BIN%/*}"
if [ "$AUTO_UPDATE" = 1 ]; then
  # Made beside it and renamed over whatever $BIN was (a plain file from an install without
  # --auto-update, or this same link): there is always a fabricore-node to run.
  ln -s "$SELF_DIR/fabricore-node" "$BIN.new.$$"
  mv -f "$BIN.new.$$" "$BIN"
  say "linked $BIN -> $SELF_DIR/fabricore-node (the Node replaces that file when it updates itself)"
elif [ -d "$ROOT$SELF_DIR" ]; then
  # An install with --auto-update before: its self-updating copies go with it.
  rm -rf "$ROOT$SELF_DIR" "$ROOT$DATA_DIR/update.json"
fi

# ---- the token: a root-only file, not the unit (unit files are world-readable) ----
if [ -n "$TOKEN" ]; then
  mkdir -p "$ENV_DIR"
  chmod 0700 "$ENV_DIR"
  (umask 077 && printf 'FABRICORE_NODE_TOKEN=%s\n' "$TOKEN" >"$ENV_FILE.new.$$")
  mv -f "$ENV_FILE.new.$$" "$ENV_FILE"
fi

# ---- the unit ----
EXEC="/usr/local/bin/fabricore-node --core $CORE_URL --data-dir $DATA_DIR"
READ_ONLY=''
PROTECT_HOME=yes
for dir in $READ_ROOTS; do
  EXEC="$EXEC --read-root $dir"
  READ_ONLY="$READ_ONLY $dir"
  case $dir in /home | /home/* | /root | /root/* | /run/user | /run/user/*) PROTECT_HOME=read-only ;; esac
done
[ "$ALLOW_EXEC" = 1 ] && EXEC="$EXEC --allow-exec"
[ "$AUTO_UPDATE" = 1 ] && EXEC="$EXEC --auto-update"
[ "$CORE_INSECURE" = 1 ] && EXEC="$EXEC --insecure"

mkdir -p "${UNIT%/*}"
{
  cat <<EOF
# Written by $CORE_URL/install.sh; running it again rewrites this file.
[Unit]
Description=FabriCore Node (dials out to $CORE_URL; listens on no port)
Documentation=$CORE_URL/
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
EnvironmentFile=-/etc/fabricore/node.env
ExecStart=$EXEC
Restart=always
RestartSec=5
# A user made for this service at each start, owning only its state directory (the Node's key).
DynamicUser=yes
StateDirectory=fabricore-node
StateDirectoryMode=0700
ReadWritePaths=$DATA_DIR
EOF
  if [ "$AUTO_UPDATE" = 1 ]; then
    printf '%s\n' "# --auto-update: /usr/local/bin/fabricore-node links to $SELF_DIR/fabricore-node, in the" \
      "# state directory (the only place this service may write); the Node replaces that file with" \
      "# builds signed by the Core's release key."
  fi
  cat <<EOF
UMask=0077
ProtectSystem=strict
ProtectHome=$PROTECT_HOME
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
EOF
  [ -n "$READ_ONLY" ] && printf 'ReadOnlyPaths=%s\n' "${READ_ONLY# }"
  if [ "$DOCKER" = 1 ]; then
    printf '%s\n' "# --docker: the Docker socket's group, for managed MCP servers (root-equivalent on this host)." \
      "SupplementaryGroups=docker"
  else
    printf '%s\n' "RestrictNamespaces=yes"
  fi
  cat <<EOF

[Install]
WantedBy=multi-user.target
EOF
} >"$UNIT.new.$$"
chmod 0644 "$UNIT.new.$$"
mv -f "$UNIT.new.$$" "$UNIT"
say "wrote $UNIT"

if ! have_systemd; then
  say "systemd is not running here: start the Node by hand with"
  say "  FABRICORE_NODE_TOKEN=... $EXEC"
  exit 0
fi
systemctl daemon-reload
systemctl enable fabricore-node.service >/dev/null 2>&1
if [ "$NO_START" = 1 ]; then
  say "enabled; not started (--no-start): systemctl start fabricore-node"
elif systemctl is-active --quiet fabricore-node.service; then
  systemctl restart fabricore-node.service
  if [ "$UPDATED" = 1 ]; then say "restarted with version $NODE_VERSION"; else say "restarted"; fi
else
  systemctl start fabricore-node.service
  say "started: journalctl -u fabricore-node -f"
fi
