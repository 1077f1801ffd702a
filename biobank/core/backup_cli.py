"""`biobank backup FILE` and `biobank restore FILE`."""
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import func, select

from . import backup as backups
from .db import write_intent


def _summary() -> str:
    from ..custody import service as custody
    from ..samples.models import Sample
    from ..extensions import db
    write_intent.set(False)
    samples = db.session.execute(select(func.count()).select_from(Sample)).scalar_one()
    result = custody.verify()
    db.session.rollback()
    if result.ok:
        return _("%(samples)s samples, chain intact (%(events)s events)", samples=samples,
                 events=result.events_checked), True
    return _("%(samples)s samples, chain BROKEN at event %(seq)s: %(problem)s", samples=samples,
             seq=result.first_bad_event["seq"], problem=result.first_bad_event["problem"]), False


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file):
    """Write a backup of the whole inventory to FILE (SQLite online backup, or pg_dump -Fc)."""
    try:
        info = backups.backup(file)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    size = f"{info.size:,}"
    click.echo(_("Backed up the %(backend)s database to %(path)s (%(size)s bytes).", backend=info.backend,
                 path=info.path, size=size))


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(file):
    """Restore FILE into the configured database, which must be empty; then verify the custody chain."""
    try:
        backups.restore(file)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    summary, ok = _summary()
    click.echo(_("Restored %(file)s: %(summary)s.", file=file.name, summary=summary))
    if not ok:
        raise SystemExit(1)
