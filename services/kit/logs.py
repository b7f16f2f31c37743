"""Structured JSON logs, one object per line, with request, company and trace ids."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from services.kit.context import caller_var, request_id_var, trace_id

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        caller = caller_var.get()
        for key, value in (
            ("request_id", request_id_var.get()),
            ("trace_id", trace_id()),
            ("company_id", caller.company_id),
        ):
            if value:
                entry[key] = value
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The drivers are chatty at INFO and say nothing an operator needs.
    for noisy in ("aio_pika", "aiormq", "pymongo", "grpc", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
