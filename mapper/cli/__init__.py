"""The project's commands on the Flask CLI: import, analyse, keep evidence, manage accounts."""

from mapper.cli.accounts import create_token, create_user, list_tokens, revoke_token
from mapper.cli.backups import backup, restore
from mapper.cli.data import demo, gaps, init_db
from mapper.cli.evidence import backfill_snapshots, list_snapshots, snapshot
from mapper.cli.imports import (
    import_coordinators,
    import_groups,
    import_imd,
    import_openreferral,
    import_population,
    import_postcodes,
    import_services,
    import_wards,
)
from mapper.cli.mail import send_mail, send_reminders
from mapper.cli.serve import serve
from mapper.cli.users import (
    deactivate_user,
    invite,
    list_users,
    reactivate_user,
    unlock_user,
)


def init_app(app):
    """Add the project's commands to the app's CLI."""
    for command in (init_db, demo, gaps, create_user, create_token, list_tokens, revoke_token):
        app.cli.add_command(command)
    for command in (invite, list_users, deactivate_user, reactivate_user, unlock_user):
        app.cli.add_command(command)
    for command in (snapshot, backfill_snapshots, list_snapshots, send_mail, send_reminders):
        app.cli.add_command(command)
    for command in (serve, backup, restore):
        app.cli.add_command(command)
    for command in (
        import_wards,
        import_population,
        import_imd,
        import_postcodes,
        import_groups,
        import_services,
        import_openreferral,
        import_coordinators,
    ):
        app.cli.add_command(command)
