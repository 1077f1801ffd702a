"""The product app plus one bare JSON endpoint, for the HTTP benchmarks only:
the bare endpoint is the yardstick a lookup is compared with, in the same server."""
from flask import jsonify

from biobank import create_app

app = create_app()


@app.get("/bench/bare")
def bare():
    return jsonify({"barcode": "BARE0001", "status": "available", "location": None})
