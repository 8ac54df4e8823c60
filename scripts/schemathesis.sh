#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document: a real `aduan serve` (free
# port, temporary data directory, the sample rule set) with a token of every
# kind issued by `aduan token issue` and one complaint submitted, then
# schemathesis (PyPI, pinned, into target/venv) against /openapi.json. Fails on
# a 5xx, a status the document does not list, or a body or content type that
# breaks the document. Bounded: --max-examples per operation and --max-time.
# One worker: with two, Python 3.11's ast.parse (which hypothesis calls to
# describe its filters) failed in schemathesis itself with "AST constructor
# recursion depth mismatch", a race in the interpreter, not an answer of ours.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv=target/venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "version $version\$"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

source scripts/serve-lib.sh
export ADUAN_OPD_TOKEN ADUAN_ADMIN_TOKEN ADUAN_AUDITOR_TOKEN ADUAN_REPORTER_TOKEN
export ADUAN_COMPLAINT_ID ADUAN_TRACKING_NO
ADUAN_OPD_TOKEN=$(token opd kab-pati-dinkes)
ADUAN_ADMIN_TOKEN=$(token admin)
ADUAN_AUDITOR_TOKEN=$(token auditor)
ack=$(submit schemathesis-1)
ADUAN_COMPLAINT_ID=$(field "$ack" complaint_id)
ADUAN_TRACKING_NO=$(field "$ack" tracking_no)
ADUAN_REPORTER_TOKEN=$(field "$ack" reporter_token)

# Run from the temporary directory: schemathesis keeps a .schemathesis/ cache where it runs.
root=$PWD
cd "$data"
"$root/$venv/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$base/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "${ADUAN_SCHEMATHESIS_EXAMPLES:-100}" --max-time 90 \
    --seed "${ADUAN_SCHEMATHESIS_SEED:-15}" --workers 1 \
    --generation-database none --report-dir "$data/report" --no-color "$@"
