"""Real receivers for notification tests: a threaded HTTP server that records each webhook POST
and answers scripted status codes, and an SMTP server (aiosmtpd) that keeps each message."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


@dataclass
class Receiver:
    """``statuses``: the codes of the next answers, in order (then 200)."""

    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.requests) >= n, timeout)


@contextmanager
def webhook_receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver._cond:
                receiver.requests.append(Received(dict(self.headers.items()), body, self.path))
                n = len(receiver.requests)
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver._cond.notify_all()
            answer = f"receiver answer {n} ({code})".encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[tuple[list[str], Message]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(login: tuple[str, str] | None = None) -> Iterator[Mailbox]:
    """A real SMTP server on a loopback port (aiosmtpd's Controller runs it in a thread);
    ``login``: it requires AUTH with this user and password (over plain SMTP, loopback only)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    box = Mailbox("127.0.0.1", _free_port())

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = login is not None and (data.login.decode(), data.password.decode()) == login
        return AuthResult(success=ok)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
            return "250 OK stored"

    auth: dict[str, Any] = {}
    if login is not None:
        auth = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(Handler(), hostname=box.host, port=box.port, **auth)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
