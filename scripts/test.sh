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

cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --quiet -p aduan --bin aduan
cargo test --workspace
# The fault test that needs mount (a tmpfs) is ignored by default; as root, run it too.
if [ "$(id -u)" -eq 0 ]; then
    cargo test -p aduan-e2e --test faults -- --ignored
else
    echo "test.sh: not root: the full-disk fault test stays ignored (it needs mount)" >&2
fi
