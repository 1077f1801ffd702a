import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..core.actor import system_actor
from ..core.db import unit_of_work
from ..core.errors import DomainError
from . import service

sites_cli = AppGroup("sites", help="Sites of the network.")


@sites_cli.command("list")
def list_sites():
    """Every site: code, name, time zone."""
    for site in service.list_sites(system_actor("cli")):
        click.echo(f"{site.code:<12} {site.name:<40} {site.time_zone}" + ("  " + _("(default)") if site.is_default
                                                                           else ""))


@sites_cli.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--address")
@click.option("--time-zone", default="UTC", show_default=True)
@click.option("--language", help="its staff's language when neither they nor their browser choose: en, uz, ru, ko")
def create_site(code, name, address, time_zone, language):
    """Add a site CODE named NAME, with its own storage tree."""
    try:
        with unit_of_work():
            service.create_site(system_actor("cli"), code=code, name=name, address=address, time_zone=time_zone,
                                language=language)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(_("Created site %(code)s (%(name)s).", code=code, name=name))


@sites_cli.command("language")
@click.argument("code")
@click.argument("language", required=False, default="")
def site_language(code, language):
    """Set the default LANGUAGE (en, uz, ru, ko) of site CODE's staff; without one: none."""
    try:
        with unit_of_work():
            site = service.site_by_code(code)
            service.update_site(system_actor("cli"), site.id, language=language)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(_("Site %(code)s: default language %(language)s.", code=code, language=language or "-"))


def set_sites_command(users_cli):
    """`biobank users sites NAME CODE...`: where a user's role holds."""
    @users_cli.command("sites")
    @click.argument("username")
    @click.argument("codes", nargs=-1, required=True)
    def user_sites(username, codes):
        """Set the sites where USERNAME's role holds."""
        try:
            with unit_of_work():
                view = service.set_user_sites(system_actor("cli"), username, list(codes))
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(_("%(name)s works at %(sites)s.", name=username, sites=", ".join(view["sites"])))
    return user_sites
