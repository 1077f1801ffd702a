import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from .db import unit_of_work


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the demo biobank (idempotent) and print its logins."""
    from ..demo import CENTRAL, DEMO_USERS, USER_SITES, load_demo
    with unit_of_work():
        created = load_demo(progress=lambda msg: click.echo(msg))
    click.echo(_("Demo biobank loaded.") if created else _("Demo biobank already present."))
    click.echo(_("Demo logins (username / password):"))
    for username, role, password in DEMO_USERS:
        where = _("all sites") if role in ("admin", "network_manager") else USER_SITES.get(username, CENTRAL["code"])
        click.echo(f"  {role:<15} {username} / {password}  ({where})")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve_command(host, port, workers):
    """Serve the app with gunicorn (production server)."""
    # No app context here: each request must get its own (and its own session).
    from gunicorn.app.base import BaseApplication

    from .. import create_app

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 120)
            self.cfg.set("worker_class", "biobank.core.server.JsonErrorWorker")  # JSON errors, see core/server.py

        def load(self):
            return create_app()

    url = f"http://{host}:{port}"
    click.echo(_("Serving on %(url)s (gunicorn, %(workers)s workers)", url=url, workers=workers))
    Server().run()
