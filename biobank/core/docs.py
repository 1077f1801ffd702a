"""The API docs page, served with the Swagger UI files of the swagger-ui-bundle
package: nothing is loaded from the internet."""
from pathlib import Path

from flask import Blueprint, send_from_directory, url_for
import swagger_ui_bundle

blp = Blueprint("api_docs", __name__)
_ASSETS = Path(swagger_ui_bundle.swagger_ui_path)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Biobank API</title>
<link rel="stylesheet" href="{css}"></head>
<body><div id="swagger-ui"></div>
<script src="{bundle}"></script><script src="{init}"></script></body></html>"""

_INIT = """window.ui = SwaggerUIBundle({url: %r, dom_id: '#swagger-ui', deepLinking: true});"""


@blp.get("/api/v1/docs")
def docs():
    return _PAGE.format(css=url_for("api_docs.asset", filename="swagger-ui.css"),
                        bundle=url_for("api_docs.asset", filename="swagger-ui-bundle.js"),
                        init=url_for("api_docs.init_script"))


@blp.get("/api/v1/docs/init.js")
def init_script():
    return _INIT % url_for("api-docs.openapi_json"), 200, {"Content-Type": "text/javascript"}


@blp.get("/api/v1/docs/assets/<path:filename>")
def asset(filename):
    return send_from_directory(_ASSETS, filename, max_age=86400)
