#!/bin/sh
# Boots this host's own systemd as PID 1 of a throw-away machine (e2e/support/systemd-machine.ts).
#
#   systemd-boot.sh SCRATCH CGROUP_DIR...          (run inside the test's network namespace)
#
# Joins the cgroup directories the test made for it (one per hierarchy, so whatever systemd creates
# stays below them and the test can remove it), then re-runs itself in new mount, PID, UTS, IPC and
# cgroup namespaces. There the root is an overlay of the host's / with a tmpfs on top: the host's
# files are read-only below, every write (install.sh's, systemd's) lands in memory and is gone when
# the machine's last process ends. /etc/systemd/system is an empty tmpfs, so none of the host's
# enabled services (Docker, PostgreSQL, ...) start in it; the default target is basic.target.
set -eu

if [ "${1:-}" != --inside ]; then
  scratch=$1
  shift
  for cgroup in "$@"; do echo $$ >"$cgroup/cgroup.procs"; done
  exec unshare --mount --pid --fork --uts --ipc --cgroup --propagation private sh "$0" --inside "$scratch"
fi

scratch=$2
mount -t tmpfs -o mode=0700 tmpfs "$scratch"
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"
root=$scratch/root

mount -t tmpfs -o mode=0755 tmpfs "$root/etc/systemd/system"
cat >"$root/etc/systemd/system/fabricore-e2e.target" <<'EOF'
[Unit]
Description=FabriCore e2e machine
Requires=basic.target
After=basic.target
AllowIsolate=yes
EOF
ln -s fabricore-e2e.target "$root/etc/systemd/system/default.target"
for dir in run tmp; do mount -t tmpfs -o mode=1777 tmpfs "$root/$dir"; done
chmod 0755 "$root/run"
echo fabricore-e2e >"$root/etc/hostname"

# /dev as systemd-nspawn makes it: a tmpfs with the few device nodes a service may use, bound from
# the host, its own devpts, and /dev/console (systemd's log target) pointed at /dev/null.
mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
for node in null zero full random urandom tty; do
  touch "$root/dev/$node"
  mount --bind "/dev/$node" "$root/dev/$node"
done
touch "$root/dev/console"
mount --bind /dev/null "$root/dev/console"
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"

# The overlay becomes the root (pivot_root, as systemd-nspawn does; not chroot, so paths inside are
# the machine's own), and the host's tree is let go.
cd "$root"
mkdir -p .host
pivot_root . .host
cd /
umount -l /.host
rmdir /.host
# `container=` tells systemd it runs in a container (no udev, no kernel setup); it mounts the
# cgroup hierarchies itself, seeing the test's directories as their roots.
exec /usr/bin/env -i container=fabricore-e2e /lib/systemd/systemd --log-target=console
