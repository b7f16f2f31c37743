"""The development sink's webhook receiver: what `make run` shows of the deliveries."""

from __future__ import annotations

from fastapi.testclient import TestClient

from deploy.devsink import Inbox, create_http_app


def test_deliveries_are_kept_by_name_with_their_signature_headers_newest_first():
    client = TestClient(create_http_app(Inbox()))
    for n, name in enumerate(("romashka", "other", "romashka")):
        answer = client.post(
            f"/webhooks/{name}",
            content=f'{{"n":{n}}}'.encode(),
            headers={
                "webhook-id": f"msg_{n}",
                "webhook-timestamp": "1764900000",
                "webhook-signature": "v1,abc",
            },
        )
        assert answer.status_code == 200

    kept = client.get("/webhooks", params={"name": "romashka"}).json()["items"]

    assert [d["webhook_id"] for d in kept] == ["msg_2", "msg_0"]
    assert kept[0]["body"] == '{"n":2}' and kept[0]["webhook_signature"] == "v1,abc"
    assert len(client.get("/webhooks").json()["items"]) == 3
