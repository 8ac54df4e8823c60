"""An Open311 client flow against a running aduan, driven by tests/tests/open311.rs.

Discovery and status go through PyPI's `georeport` 0.3.1 (a GeoReport v2 wrapper this
project did not write). georeport has no method to create a request (and PyPI's `open311`
1.1 does not import on Python 3), so the POST is the spec's own example request,
form-encoded with `requests`. The OPD's resolution goes through aduan's HTTP actions API
with an OPD token. Prints one line per step; exits non-zero on the first failure.

usage: open311_client.py BASE_URL OPD_ORG OPD_TOKEN
"""
import sys
import time

import requests
from georeport import GeoReport


def until(what, probe, timeout=30.0):
    deadline = time.time() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.time() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.1)


def main():
    base, org, opd_token = sys.argv[1:4]
    root = f"{base}/open311/v2"
    client = GeoReport(root)

    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "infrastruktur" in codes, codes
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)
    print(f"services: {len(services)}")

    # POST requests.json as the spec shows it: form-encoded, with coordinates.
    answer = requests.post(
        f"{root}/requests.json",
        data={
            "service_code": "infrastruktur",
            "lat": "-6.755",
            "long": "111.038",
            "address_string": "Jl. Diponegoro, Pati",
            "email": "warga@contoh.test",
            "first_name": "Siti",
            "last_name": "Aminah",
            "description": "Jalan berlubang di depan pasar, sudah dua bulan.",
        },
    )
    assert answer.status_code == 201, (answer.status_code, answer.text)
    created = answer.json()[0]
    sid = created["service_request_id"]
    assert created.get("token"), created
    print(f"posted: {sid}")

    request = client.get_service_request(sid)
    assert request["status"] == "open", request
    assert request["service_code"] == "infrastruktur", request
    assert "Siti" not in str(request) and "warga@" not in str(request), request
    print(f"status: {request['status']}")

    routed = until(
        "routing",
        lambda: client.get_service_request(sid).get("agency_responsible"),
    )
    print(f"agency_responsible: {routed}")

    auth = {"Authorization": f"Bearer {opd_token}"}

    def in_inbox():
        inbox = requests.get(f"{base}/v1/orgs/{org}/inbox", headers=auth).json()
        return next((i for i in inbox["items"] if i["tracking_no"] == sid), None)

    item = until("the OPD inbox", in_inbox)
    action = requests.post(
        f"{base}/v1/orgs/{org}/complaints/{item['complaint_id']}/actions",
        headers=auth,
        json={"resolve": {"resolution": "Jalan sudah ditambal."}},
    )
    assert action.status_code == 200, (action.status_code, action.text)
    print("resolved by the OPD")

    closed = until(
        "status closed",
        lambda: (lambda r: r if r["status"] == "closed" else None)(
            client.get_service_request(sid)
        ),
    )
    assert closed["status_notes"] == "Jalan sudah ditambal.", closed
    listed = client.get_service_requests(status="closed", service_code="infrastruktur")
    assert sid in [r["service_request_id"] for r in listed], listed
    print(f"status: {closed['status']}")


if __name__ == "__main__":
    main()
