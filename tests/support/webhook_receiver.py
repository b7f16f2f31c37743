"""A webhook receiver for the tests and the bench: an HTTP server in a thread that records
every POST and answers as its script says (per message id or path; 200 by default)."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.monotonic()
    arrived_at: float  # time.time(): against an event's time


@dataclass
class Receiver:
    """An HTTP server in a thread: records every POST and answers what the script of its
    message id or of its path says (then the path's default, 200)."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    defaults: dict[str, Reply] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def reply_for(self, path: str, message_id: str) -> Reply:
        with self.lock:
            script = self.scripts.get(message_id) or self.scripts.get(path)
            if script:
                return script.pop(0)
            return self.defaults.get(path, Reply())

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _handler(receiver_box: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = receiver_box[0]
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                receiver.requests.append(
                    Received(
                        self.path, dict(self.headers.items()), body, time.monotonic(), time.time()
                    )
                )
            reply = receiver.reply_for(self.path, self.headers.get("webhook-id", ""))
            time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up (a timeout, or it read only the first 1 KB)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    # A web server's listen backlog (nginx's 511), not socketserver's 5: two workers'
    # twenty attempts connect at once, and on a loaded machine one of them once failed as
    # though the receiver were down (a full backlog of 5 is the likely reason).
    request_queue_size = 512


def start_receiver(tls: ssl.SSLContext | None = None) -> Receiver:
    box: list[Receiver] = []
    server = _Server(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    box.append(Receiver(server))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return box[0]


def stop_receiver(receiver: Receiver) -> None:
    receiver.server.shutdown()
    receiver.server.server_close()
