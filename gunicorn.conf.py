# Read by `gunicorn wsgi:app` started in this folder: gunicorn's own error answers
# (a request line or headers over its limits, a line that is not HTTP) are JSON
# like every other API error. `biobank serve` sets the same.
worker_class = "biobank.core.server.JsonErrorWorker"
