"""Reads aduan's CloudEvents exports with the official CloudEvents SDK for Python.

Usage: cloudevents_check.py JSONL STRUCTURED BATCH [MIN_TYPES]

JSONL is `aduan audit export` (aduan's own lines), STRUCTURED is `--format
cloudevents` (one structured-mode JSON event a line), BATCH is `--format
cloudevents-batch` (one JSON array, application/cloudevents-batch+json). Every
event must parse with the SDK in both modes, carry the export's id, source,
type, specversion, time and data, and survive the SDK writing it and reading
it back. The SDK (2.2.0) has no batch reader: the batch is parsed as the JSON
array the batch format is, and each member is read by the SDK's JSON format,
as a structured-mode body. Exit 1 naming the first bad event.
"""

import json
import sys
from datetime import datetime

import cloudevents
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

STRUCTURED = "application/cloudevents+json"
ATTRIBUTES = ("id", "source", "type", "specversion")


def fail(where, why):
    print(f"cloudevents_check: {where}: {why}", file=sys.stderr)
    sys.exit(1)


def moment(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check(where, raw, event, envelope):
    """The SDK's event against the raw JSON it was read from and aduan's envelope."""
    if not isinstance(event, CloudEvent):
        fail(where, f"read as {type(event).__name__}, not a CloudEvents 1.0 event")
    got = {
        "id": event.get_id(),
        "source": event.get_source(),
        "type": event.get_type(),
        "specversion": event.get_specversion(),
    }
    for name in ATTRIBUTES:
        if name not in raw:
            fail(where, f"no {name} attribute")
        if got[name] != raw[name]:
            fail(where, f"{name} read as {got[name]!r}, written {raw[name]!r}")
    if got["specversion"] != "1.0":
        fail(where, f"specversion {got['specversion']!r}")
    if got["id"] != envelope["event_id"]:
        fail(where, f"id {got['id']!r} is not the event id {envelope['event_id']!r}")
    if got["type"] != "id.go.lapor.aduan." + envelope["event_type"]:
        fail(where, f"type {got['type']!r} for a {envelope['event_type']}")
    if event.get_time() != moment(envelope["recorded_at"]):
        fail(where, f"time {event.get_time()} is not {envelope['recorded_at']}")
    if event.get_data() != envelope["data"]:
        fail(where, f"data {event.get_data()!r} is not the export's {envelope['data']!r}")
    # Written by the SDK and read back: the same event.
    again = JSONFormat().read(None, JSONFormat().write(event))
    for name, value in got.items():
        if getattr(again, "get_" + name)() != value:
            fail(where, f"{name} changed when the SDK wrote and read it back")
    if again.get_time() != event.get_time() or again.get_data() != event.get_data():
        fail(where, "time or data changed when the SDK wrote and read it back "
             f"(datacontenttype {event.get_datacontenttype()!r})")


def main(jsonl, structured, batch, min_types=3):
    envelopes = [json.loads(line) for line in open(jsonl, encoding="utf-8") if line.strip()]
    lines = [line for line in open(structured, encoding="utf-8") if line.strip()]
    if len(lines) != len(envelopes):
        fail(structured, f"{len(lines)} events, the JSON-lines export has {len(envelopes)}")
    for n, (line, envelope) in enumerate(zip(lines, envelopes), start=1):
        message = HTTPMessage(headers={"content-type": STRUCTURED}, body=line.encode("utf-8"))
        try:
            event = from_http(message, JSONFormat())
        except Exception as e:  # the SDK's refusal, whatever its class
            fail(f"{structured} line {n}", f"the SDK refused it: {e}")
        check(f"{structured} line {n}", json.loads(line), event, envelope)
    with open(batch, encoding="utf-8") as f:
        members = json.load(f)
    if not isinstance(members, list):
        fail(batch, "not a JSON array (application/cloudevents-batch+json)")
    if len(members) != len(envelopes):
        fail(batch, f"{len(members)} events, the JSON-lines export has {len(envelopes)}")
    for n, (member, envelope) in enumerate(zip(members, envelopes), start=1):
        try:
            event = JSONFormat().read(None, json.dumps(member))
        except Exception as e:
            fail(f"{batch} event {n}", f"the SDK refused it: {e}")
        check(f"{batch} event {n}", member, event, envelope)
    types = sorted({e["event_type"] for e in envelopes})
    if len(types) < int(min_types):
        fail(jsonl, f"only {len(types)} event types ({', '.join(types)}); the check wants {min_types}")
    print(f"cloudevents {cloudevents.__version__}: {len(envelopes)} events of {len(types)} types "
          f"({', '.join(types)}) read in structured mode and in batch mode; id, source, type, "
          "specversion, time and data round-trip")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        fail("usage", "cloudevents_check.py JSONL STRUCTURED BATCH [MIN_TYPES]")
    main(*sys.argv[1:])
