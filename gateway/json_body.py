"""A JSON body the gateway cannot pass on is the client's mistake: 422, never 500.

Two kinds of body parse as JSON for Python yet cannot travel on: bytes that are not
UTF-8 (FastAPI answers them with a bare 400 "There was an error parsing the body", which
`problems.py` also maps to `validation_failed`), and strings holding a lone UTF-16
surrogate (`"\\ud800"`), which JSON allows and which no protobuf string can carry. This
middleware reads JSON bodies once, before any route, and answers both with a problem
naming the body; every other body goes on to the route unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import problem_response

# A JSON escape of a UTF-16 surrogate; only when one is present is the body parsed here.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def body_fault(body: bytes) -> str | None:
    """Why the body cannot be passed on, or None (malformed JSON is FastAPI's to report)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8 text"
    if _SURROGATE_ESCAPE.search(body):
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        if _has_lone_surrogate(parsed):
            return "a string holds a lone UTF-16 surrogate, which is not a character"
    return None


class JsonBodyCheck:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"content-type"), ""
        )
        if not is_json(content_type):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        fault = body_fault(b"".join(chunks))
        if fault is not None:
            response = problem_response(
                "validation_failed", fault, errors=[{"field": "body", "message": fault}]
            )
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
