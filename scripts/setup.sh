#!/bin/sh
# forkpoint's install command (`npm run setup`): bring the system tools the
# project and its tests use when they are missing, then npm packages and the build.
#   qemu-img / qemu-io  (qemu-utils)  the judge of every image we write
#   redis-server        (redis-server) the queue backend; the tests start a private one
#   mkfs.ext4           (e2fsprogs)    makes the raw ext4 images the rootfs tests import
#   /usr/bin/chromium   (chromium)     the headless browser the page test drives (playwright-core)
#   skopeo              (skopeo)       reads and copies the OCI layouts `box export` writes (tests, docs)
#   docker-registry     (docker-registry) the OCI registry the export round-trip test pushes to on loopback
#   promtool            (prometheus)   lints /metrics as Prometheus would (`promtool check metrics`); its server is not started
# Set FORKPOINT_SKIP_APT=1 to only check and print what is missing.
set -eu

missing=""
command -v qemu-img >/dev/null 2>&1 && command -v qemu-io >/dev/null 2>&1 || missing="$missing qemu-utils"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v mkfs.ext4 >/dev/null 2>&1 || [ -x /sbin/mkfs.ext4 ] || [ -x /usr/sbin/mkfs.ext4 ] || missing="$missing e2fsprogs"
# Debian's chromium is what the browser test drives; elsewhere point the test at your own browser.
if command -v apt-get >/dev/null 2>&1; then [ -x /usr/bin/chromium ] || missing="$missing chromium"; fi
command -v skopeo >/dev/null 2>&1 || missing="$missing skopeo"
# Debian's registry (distribution); the test starts it on loopback with a temporary storage folder.
if command -v apt-get >/dev/null 2>&1; then [ -x /usr/bin/docker-registry ] || missing="$missing docker-registry"; fi
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"

if [ -n "$missing" ]; then
  if [ "${FORKPOINT_SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then
      if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
    fi
    if [ "$SUDO" = "none" ]; then
      echo "forkpoint setup: missing system packages:$missing" >&2
      echo "  install them as root: apt-get install -y$missing" >&2
      exit 1
    fi
    echo "forkpoint setup: installing$missing with apt-get" >&2
    $SUDO apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "forkpoint setup: missing system packages:$missing" >&2
    echo "  install them with your package manager (Debian/Ubuntu: apt-get install$missing;" >&2
    echo "  macOS: brew install qemu redis) and run 'npm run setup' again" >&2
    exit 1
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
echo "forkpoint setup: ready ($(qemu-img --version | head -n1); $(redis-server --version | cut -d' ' -f1-3))" >&2
