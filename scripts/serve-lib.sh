# Sourced by scripts/schemathesis.sh and scripts/cloudevents.sh: a real
# `aduan serve` on a free loopback port with a temporary data directory.
# Sets $aduan, $data, $base and $serve; `stop_serve` stops it (SIGTERM) and
# waits; the EXIT trap stops it and removes the directory in any case.

cargo build --quiet -p aduan --bin aduan
aduan="${CARGO_TARGET_DIR:-target}/debug/aduan"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
RUST_LOG=warn "$aduan" serve --data "$data" --http "127.0.0.1:$port" &
serve=$!
trap 'kill "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 300); do
    curl -sf "$base/readyz" >/dev/null && break
    sleep 0.1
done
curl -sf "$base/readyz" >/dev/null

stop_serve() {
    kill -TERM "$serve"
    wait "$serve"
}

# token ROLE [ORG]: a new API token of that role, printed.
token() {
    if [ "$1" = opd ]; then
        "$aduan" token issue --data "$data" --role opd --org "$2" 2>/dev/null
    else
        "$aduan" token issue --data "$data" --role "$1" --name "test-$1" 2>/dev/null
    fi
}

# submit REF [TITLE BODY]: submits a complaint in region 33.18; prints the ack.
submit() {
    curl -sf -X POST "$base/v1/complaints" -H 'Content-Type: application/json' -d "{
        \"channel\": \"web\", \"channel_ref\": \"$1\", \"kind\": \"complaint\",
        \"title\": \"${2:-Obat kosong}\",
        \"body\": \"${3:-Obat di puskesmas Juwana habis sejak minggu lalu}\",
        \"location\": {\"region_code\": \"33.18\"},
        \"reporter\": {\"name\": \"Siti\", \"privacy\": \"confidential\"}}"
}

# field JSON NAME: one top-level field of a JSON object.
field() {
    python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"
}
