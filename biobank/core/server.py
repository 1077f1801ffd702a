"""gunicorn workers whose own error answers are JSON like every other API error.

gunicorn answers some requests before the app sees them: a request line over its
limit (414), too many or too large headers (431), a line that is not HTTP (400),
an application crash it catches (500). It writes those as a small HTML page.
These workers let gunicorn decide the status and its message as usual, catch
what it would write, and send the same status as `{"code", "message"}` instead.
`biobank serve` uses them, and so does `gunicorn wsgi:app` through gunicorn.conf.py.
"""
import html
import json
import re

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

CODES = {400: "bad_request", 403: "forbidden", 414: "request_line_too_long", 417: "expectation_failed",
         431: "headers_too_large", 500: "internal_error", 501: "not_implemented"}
MESSAGES = {414: "The request line (method, path and query string) is too long.",
            431: "The request has too many headers, or one that is too long.",
            500: "Something went wrong on the server; it has been logged."}
_STATUS = re.compile(rb"\AHTTP/1\.[01] (\d{3}) ")
_MESSAGE = re.compile(rb"</h1>\s*(.*?)\s*</body>", re.S)


class _Captured:
    """Stands in for the client socket while gunicorn writes its HTML error; everything else goes
    to the real socket."""

    def __init__(self, sock):
        self._sock, self.data = sock, b""

    def gettimeout(self):
        return 0.0

    def sendall(self, data):
        self.data += bytes(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def json_error(status: int, detail: str) -> bytes:
    message = MESSAGES.get(status) or detail or "The request could not be read."
    if detail and status in MESSAGES and status != 500:
        message = f"{message} ({detail})"
    body = json.dumps({"code": CODES.get(status, "http_error"), "message": message}).encode()
    reason = {400: "Bad Request", 403: "Forbidden", 414: "URI Too Long", 417: "Expectation Failed",
              431: "Request Header Fields Too Large", 500: "Internal Server Error",
              501: "Not Implemented"}.get(status, "Error")
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    return head + body


def as_json(written: bytes) -> bytes:
    """gunicorn's HTML error response -> the same status as a JSON error response."""
    match = _STATUS.match(written)
    if not match:
        return written
    found = _MESSAGE.search(written)
    detail = html.unescape(found.group(1).decode("latin-1")) if found else ""
    return json_error(int(match.group(1)), detail[:300])


class _JsonErrors:
    def handle_error(self, req, client, addr, exc):
        captured = _Captured(client)
        super().handle_error(req, captured, addr, exc)
        if captured.data:
            try:
                util.write_nonblock(client, as_json(captured.data))
            except Exception:
                self.log.debug("Failed to send error message.")


class JsonErrorWorker(_JsonErrors, SyncWorker):
    """gunicorn's sync worker, with JSON error answers."""


class JsonErrorThreadWorker(_JsonErrors, ThreadWorker):
    """gunicorn's threaded worker, with JSON error answers."""
