"""`mapper backup FILE` and `mapper restore FILE`: a consistent copy of the whole database."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from mapper.errors import MapperError
from mapper.store import backup as backups
from mapper.store import db, version


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@with_appcontext
def backup(file, force):
    """Write a consistent copy of the database to FILE while the app keeps running."""
    database = db.get_db()
    if not force and Path(file).exists():
        raise click.ClickException(f"{file} exists: choose another name or pass --force")
    try:
        size = backups.backup(database.engine.url.render_as_string(False), file)
    except MapperError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Backed up {database_label(database)} to {file} ({size:,} bytes)", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@with_appcontext
def restore(file, yes):
    """Replace everything in the database with the backup in FILE, then migrate it.

    Stop the app first: nothing may be connected to the database while it is replaced.
    """
    database = db.get_db()
    url = database.engine.url.render_as_string(False)
    try:
        revision = backups.check_backup(url, file)
        if not yes:
            click.confirm(
                f"Replace everything in {database_label(database)} with {file}?", abort=True
            )
        with database.Session() as session:
            old = version.current(session)
        database.dispose()  # no connection of ours may hold the tables being replaced
        backups.restore(url, file)
    except MapperError as error:
        raise click.ClickException(error.message) from None
    db.upgrade_schema(database.engine)
    with database.Session() as session:
        version.move_past(session, old)
        session.commit()
    database.dispose()
    click.echo(f"Restored {file} (schema {revision}) into {database_label(database)}", err=True)


def database_label(database):
    """Name the database without its password."""
    return database.engine.url.render_as_string(hide_password=True)
