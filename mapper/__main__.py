"""The `mapper` program (and `python -m mapper`): the Flask CLI of the app, with its commands."""

import click
from flask.cli import FlaskGroup, ScriptInfo, routes_command, run_command, shell_command

from mapper import config, create_app


def _create_app():
    # Commands other than `run` may use the placeholder SECRET_KEY; `run` checks it itself.
    return create_app({"CHECK_SECRET_KEY": False})


@click.command("run", params=run_command.params, help=run_command.help)
@click.pass_context
def run(ctx, **kwargs):
    """Serve the app with Flask's development server, refusing a placeholder SECRET_KEY."""
    app = ctx.ensure_object(ScriptInfo).load_app()
    try:
        config.check(app.config)
    except config.ConfigError as error:
        raise click.ClickException(str(error)) from None
    ctx.invoke(run_command, **kwargs)


def main():
    """Run the `mapper` command line."""
    group = FlaskGroup(create_app=_create_app, add_default_commands=False)
    group.add_command(run)
    group.add_command(shell_command)
    group.add_command(routes_command)
    group.main(prog_name="mapper")


if __name__ == "__main__":
    main()
