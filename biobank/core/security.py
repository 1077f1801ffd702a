"""Security headers and transport settings, applied to every response in one place.

- Content-Security-Policy that names no external host: the app serves its own
  CSS, JS and the API docs assets (hospital networks are closed, and a policy
  of 'self' keeps injected markup from loading or sending anything elsewhere).
  Inline <script> and <style> elements are refused; inline style *attributes*
  are allowed (box maps set a CSS variable that way), which cannot run code.
- When BIOBANK_BEHIND_PROXY=1 the app trusts one proxy's X-Forwarded-For/-Proto/
  -Host (werkzeug ProxyFix), so url_for builds https links and the login
  throttle sees the client's address rather than the proxy's.
- The API's default error response is documented with the shape the API really
  answers with ({code, message, details}), so clients (and schema checks) can
  rely on it for every status.
"""
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

# Identifiers are 32-bit integers on every database; a larger number in a path cannot name anything.
MAX_ID = 2**31 - 1

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class IdConverter(IntegerConverter):
    """`<int:...>` in routes, bounded to what a database id can be: larger numbers are a plain 404
    instead of an overflow deep in the database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def document_errors(api) -> None:
    """Call before api.init_app: error responses in the OpenAPI document use our error shape,
    and bounded id path parameters are documented with their bounds."""
    from .schemas import ApiErrorSchema
    api.ERROR_SCHEMA = ApiErrorSchema
    if not any(args[0] is IdConverter for args in api._converters):
        api.register_converter(IdConverter, lambda converter: {
            "type": "integer", "minimum": 0 if converter.min is None else converter.min, "maximum": converter.max})


def _security_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if _https():
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.status_code == 429 and "Retry-After" not in response.headers:
        from flask import current_app
        response.headers["Retry-After"] = str(60 * current_app.config.get("LOGIN_WINDOW_MINUTES", 15))
    return response


def _https() -> bool:
    from flask import current_app, request
    return bool(current_app.config.get("SESSION_COOKIE_SECURE")) and request.scheme == "https"


def register(app) -> None:
    app.url_map.converters["int"] = IdConverter
    if app.config.get("BEHIND_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)
    app.after_request(_security_headers)
