"""What gunicorn answers before the app sees a request is JSON too, from a real gunicorn."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from biobank.config import PROJECT_ROOT

pytestmark = pytest.mark.sqlite_only  # the server layer is the same for both databases


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raw(port: int, data: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


@pytest.fixture(params=["biobank serve", "gunicorn wsgi:app"])
def server(request, database_url, tmp_path):
    port = _port()
    env = dict(os.environ, DATABASE_URL=database_url, BIOBANK_INSTANCE_PATH=str(tmp_path))
    if request.param == "biobank serve":
        command = [str(Path(sys.executable).with_name("biobank")), "serve", "--port", str(port), "--workers", "1"]
    else:
        command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:  # until the worker has loaded the app and answers
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=30).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_gunicorn_refusals_are_json_errors(server):
    cases = {
        "a request line over the limit": (b"GET /api/v1/samples?q=" + b"x" * 10_000 + b" HTTP/1.1\r\n"
                                          b"Host: x\r\n\r\n", 414, "request_line_too_long"),
        "a header over the limit": (b"GET /api/v1/samples HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 10_000 +
                                    b"\r\n\r\n", 431, "headers_too_large"),
        "too many headers": (b"GET /api/v1/samples HTTP/1.1\r\nHost: x\r\n" +
                             b"".join(b"X-H%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431, "headers_too_large"),
        "not HTTP at all": (b"HELLO THERE\r\n\r\n", 400, "bad_request"),
        "a broken HTTP version": (b"GET / HTTP/9\r\nHost: x\r\n\r\n", 400, "bad_request"),
    }
    for what, (data, status, code) in cases.items():
        got, headers, body = _raw(server, data)
        assert got == status, (what, got, body[:200])
        assert headers.get("Content-Type") == "application/json", (what, headers, body[:200])
        answer = json.loads(body)
        assert answer["code"] == code and answer["message"], (what, answer)
        assert "<html" not in body.decode("latin-1")
    # and the app itself still answers as before
    status, headers, body = _raw(server, b"GET /api/v1/samples HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 401 and json.loads(body)["code"] == "not_authenticated"
