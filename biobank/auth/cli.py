import os

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..core.actor import system_actor
from ..core.db import unit_of_work
from ..core.errors import DomainError
from ..core.permissions import ROLES
from . import service

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--site", "sites", multiple=True, help="site code where the role holds (repeatable; default: the "
              "default site)")
def create_user(username, role, sites):
    """Create a user (password from BIOBANK_PASSWORD or a prompt)."""
    password = os.environ.get("BIOBANK_PASSWORD") or click.prompt(
        _("Password"), hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work():
            service.create_user(system_actor("cli"), username, password, role, sites=list(sites) or None)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(_("Created %(role)s %(user)s.", role=role, user=username))


@users_cli.command("email")
@click.argument("username")
@click.argument("address", required=False, default="")
def set_email(username, address):
    """Set where USERNAME's notifications go (no ADDRESS: no e-mail)."""
    try:
        with unit_of_work():
            service.set_email(system_actor("cli"), username, address)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(_("%(user)s: e-mail to %(address)s.", user=username, address=address) if address
               else _("%(user)s: no e-mail.", user=username))
