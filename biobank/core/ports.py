"""A free TCP port on this machine, for a server started on the spot (a test's SMTP server,
a bench's gunicorn, a private PostgreSQL cluster)."""
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
