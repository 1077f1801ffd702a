"""Where a redirect may send the browser: only to a path of this site.

A `next=` parameter or a Referer is text from outside. Browsers are lenient in
ways a naive check is not: they drop tabs and line breaks anywhere in a URL
(`/\t/evil.com` becomes `//evil.com`), read a backslash as a slash
(`/\\evil.com`), and ignore leading spaces and control characters; a
line break in a Location header is a header injection. So a target is accepted
only when every character is printable ASCII other than space and backslash,
it starts with one slash (not two), and it names no scheme or host.
"""
from urllib.parse import urlsplit

_ALLOWED = frozenset(chr(c) for c in range(0x21, 0x7F)) - {"\\"}


def local_path(target: str | None) -> str | None:
    """`target` when it is a same-site relative path, else None."""
    if not target or not isinstance(target, str) or len(target) > 2048:
        return None
    if not set(target) <= _ALLOWED or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def same_site(url: str | None, host_url: str) -> str | None:
    """A path of this site from a full URL of it (a Referer) or a relative path, else None."""
    if not url or not isinstance(url, str):
        return None
    if url.startswith(host_url.rstrip("/") + "/"):
        url = url[len(host_url.rstrip("/")):]
    return local_path(url)
