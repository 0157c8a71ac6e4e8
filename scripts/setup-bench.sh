#!/usr/bin/env bash
# Installs what the benchmark (bench/) needs, idempotently, so a fresh clone can run it:
# - a MinIO server built from the Go module proxy into .bench/bin (git-ignored), pinned below;
# - rclone from Debian's package, the baseline the copy engine is compared with.
# A second run only checks versions. MinIO has no semver tags (its RELEASE.* tags aren't Go
# versions), so the pin is the pseudo-version of a main-branch commit; `go version -m` on the
# binary reports the module version it was built from, which is what the skip check compares.
set -euo pipefail
cd "$(dirname "$0")/.."

MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
BIN_DIR="$PWD/.bench/bin"

built_minio_version() {
  [ -x "$BIN_DIR/minio" ] || return 0
  go version -m "$BIN_DIR/minio" 2>/dev/null | awk -v m="$MINIO_MODULE" '$1 == "mod" && $2 == m { print $3 }'
}

if [ "$(built_minio_version)" = "$MINIO_VERSION" ]; then
  echo "setup-bench: minio $MINIO_VERSION already in .bench/bin"
else
  command -v go >/dev/null || { echo "setup-bench: go is required to build minio" >&2; exit 1; }
  echo "setup-bench: building minio $MINIO_VERSION with $(go version | cut -d' ' -f3) (several minutes on 2 cores)"
  mkdir -p "$BIN_DIR"
  start=$(date +%s)
  # GOTOOLCHAIN=local: build with the installed Go rather than fetching the toolchain go.mod names.
  GOBIN="$BIN_DIR" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go install "$MINIO_MODULE@$MINIO_VERSION"
  echo "setup-bench: minio built in $(( $(date +%s) - start )) s"
fi

if command -v rclone >/dev/null; then
  echo "setup-bench: $(rclone version 2>/dev/null | head -n1) already installed"
else
  SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  # The package lists may be missing or stale on a fresh machine; this branch runs once per machine.
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y rclone
  echo "setup-bench: installed $(rclone version | head -n1)"
fi
