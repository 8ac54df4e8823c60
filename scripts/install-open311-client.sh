#!/usr/bin/env bash
# Installs the Open311 client the end-to-end test drives (PyPI's georeport 0.3.1, a
# GeoReport v2 wrapper this project did not write, with its `requests`) into a virtual
# environment under target/venv. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.3.1
py=target/venv/bin/python
if ! "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('georeport') != '$version')" 2>/dev/null; then
    python3 -m venv target/venv
    target/venv/bin/pip install --quiet "georeport==$version"
fi
echo "$PWD/$py"
