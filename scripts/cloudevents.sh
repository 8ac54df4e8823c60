#!/usr/bin/env bash
# Reads `aduan audit export --format cloudevents` and `--format cloudevents-batch`
# with the official CloudEvents SDK for Python (PyPI `cloudevents`, pinned, into
# target/venv): a real `aduan serve` takes complaints through most of their life
# (received, routed, acknowledged, follow-up, question and reply, resolved,
# feedback, re-routed by an admin), stops, and the log is exported three ways;
# scripts/cloudevents_check.py checks every event with the SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

version=2.2.0
venv=target/venv
if ! "$venv/bin/python" -c "import cloudevents, sys; sys.exit(cloudevents.__version__ != '$version')" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "cloudevents==$version"
fi

source scripts/serve-lib.sh
post() { # post TOKEN PATH JSON: fails unless 2xx, showing the answer
    local answer
    answer=$(curl -sS --fail-with-body -X POST "$base$2" -H "Authorization: Bearer $1" \
        -H 'Content-Type: application/json' -d "$3") ||
        { echo "cloudevents.sh: POST $2 $3: $answer" >&2; return 1; }
}
routed_to() { # routed_to TRACKING_NO: waits for the routing, prints the owner
    for _ in $(seq 1 100); do
        org=$(curl -sf "$base/v1/complaints/$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['org'])")
        [ -n "$org" ] && { echo "$org"; return; }
        sleep 0.1
    done
    echo "cloudevents.sh: $1 was not routed" >&2
    return 1
}

first=$(submit ce-1)
second=$(submit ce-2 "Jalan berlubang" "Jalan desa Sukolilo berlubang besar")
id=$(field "$first" complaint_id)
tn=$(field "$first" tracking_no)
reporter=$(field "$first" reporter_token)
org=$(routed_to "$tn")
opd=$(token opd "$org")
admin=$(token admin)
act="/v1/orgs/$org/complaints/$id/actions"
post "$opd" "$act" '{"acknowledge": {}}'
post "$opd" "$act" '{"follow_up": {"message": "Stok obat sedang dikirim", "public": true}}'
post "$opd" "$act" '{"request_info": {"question": "Puskesmas mana tepatnya?"}}'
post "$reporter" "/v1/complaints/$tn/reply" '{"message": "Puskesmas Juwana"}'
post "$opd" "$act" '{"resolve": {"resolution": "Obat sudah tersedia kembali"}}'
post "$reporter" "/v1/complaints/$tn/feedback" '{"rating": 4, "comment": "Terima kasih"}'
routed_to "$(field "$second" tracking_no)" >/dev/null
post "$admin" "/v1/admin/complaints/$(field "$second" complaint_id)/actions" \
    '{"reroute": {"org": "kab-pati-rsud", "reason": "urusan rumah sakit"}}'
stop_serve

out="$data/exports"
mkdir "$out"
for format in jsonl cloudevents cloudevents-batch; do
    "$aduan" audit export --data "$data" --format "$format" --out "$out/$format" 2>/dev/null
done
"$venv/bin/python" scripts/cloudevents_check.py "$out/jsonl" "$out/cloudevents" "$out/cloudevents-batch" 8
