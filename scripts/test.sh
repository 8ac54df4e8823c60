#!/usr/bin/env bash
# The one test command (README.md; .ci/run calls it): installs what the tests
# need when it is missing, then runs formatting, lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1; then
    echo "test.sh: installing nats-server (Debian package) for the end-to-end tests" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server
fi

# The Open311 end-to-end test drives PyPI's georeport client from target/venv.
scripts/install-open311-client.sh >/dev/null

cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --quiet -p aduan --bin aduan
cargo test --workspace
# The fault test that needs mount (a tmpfs) is ignored by default; run it where a
# tmpfs can be mounted (root with mount permission), and say so when it cannot.
probe=$(mktemp -d)
if mount -t tmpfs -o size=1m tmpfs "$probe" 2>/dev/null; then
    umount "$probe"
    rmdir "$probe"
    cargo test -p aduan-e2e --test faults -- --ignored
else
    rmdir "$probe"
    echo "test.sh: SKIPPED the full-disk fault test: this machine cannot mount a tmpfs" >&2
fi
