"""WSGI entry point: `gunicorn wsgi:app`."""
from biobank import create_app

app = create_app()
