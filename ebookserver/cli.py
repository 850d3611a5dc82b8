"""The `ebookserver` command: every operation a sysadmin or a script needs. The group and the
server live here; the other subcommands are in ebookserver/commands/, by subject."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from catalog import accounts
from catalog.datadir import SETUP_CODE, new_setup_code
from ebookserver.commands import books, operations, people  # noqa: F401 - each adds its commands to main
from ebookserver.commands.base import Context, main, pass_context
from ebookserver.settings import SECRET_SETTINGS, Settings, example_config


@main.command()
@pass_context
def init(context: Context) -> None:
    """Create the data directory and database (or upgrade an existing one)."""
    _ = context.gettext
    applied = context.datadir.create()
    click.echo(_("Data directory ready: %(path)s") % {"path": context.datadir.root})
    for name in applied:
        click.echo(_("  applied migration %(name)s") % {"name": name})


@main.command()
@click.option("--host", help="Address to listen on (setting: host).")
@click.option("--port", type=int, help="Port to listen on (setting: port).")
@pass_context
def serve(context: Context, host: str | None, port: int | None) -> None:
    """Run the web server (waitress), in `workers` processes sharing one port."""
    import waitress

    from ebookserver.app import create_app

    given = {name: value for name, value in (("host", host), ("port", port)) if value is not None}
    settings = Settings({**context.settings.values, **given})
    workers = settings.workers if settings.workers > 0 else os.cpu_count() or 1
    if workers == 1:
        app = create_app(settings)
    click.echo(
        context.gettext("Serving %(name)s on http://%(host)s:%(port)s/")
        % {"name": settings.library_name, "host": settings.host, "port": settings.port}
    )
    if workers == 1:
        waitress.serve(app, host=settings.host, port=settings.port, threads=settings.threads, ident="ebookserver")
        return
    _serve_in_processes(settings, workers)


def _serve_in_processes(settings: Settings, workers: int) -> None:
    """Pre-fork serving: the port is bound once, here, before any thread, database or index is
    opened; each worker process then builds the application itself and runs waitress on the
    shared socket (the kernel hands each new connection to one of them). A worker that dies
    is started again; SIGTERM or SIGINT stops them all."""
    import signal
    import socket
    import time

    import waitress

    from ebookserver.app import create_app

    family, _type, _proto, _name, address = socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.create_server(address, family=family, backlog=1024)
    sys.stdout.flush()
    sys.stderr.flush()

    def start(number: int) -> int:
        pid = os.fork()
        if pid:
            return pid
        exit_code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            app = create_app(settings)
            waitress.serve(app, sockets=[listener], threads=settings.threads, ident="ebookserver")
        except KeyboardInterrupt:
            pass
        except BaseException:  # noqa: BLE001 - reported, then this worker ends and is restarted
            import traceback

            traceback.print_exc()
            exit_code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exit_code)
        return 0  # not reached

    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    children: dict[int, tuple[int, float]] = {}  # pid -> (worker number, started at)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for number in range(workers):
        children[start(number)] = (number, time.monotonic())
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        number, started = children.pop(pid, (None, 0.0))
        if number is None or stopping:
            continue
        click.echo(f"ebookserver: worker {number} (pid {pid}) ended with status {status}; starting it again", err=True)
        if time.monotonic() - started < 5:
            time.sleep(1)  # a worker that fails at once is not restarted in a tight loop
        if not stopping:
            children[start(number)] = (number, time.monotonic())
    listener.close()


@main.command()
@click.option("--example", is_flag=True, help="Print a config file with every setting and its help text.")
@pass_context
def config(context: Context, example: bool) -> None:
    """Print the effective settings."""
    if example:
        click.echo(example_config())
        return
    for name, value in context.settings.values.items():
        if name in SECRET_SETTINGS and value:
            value = "(set, not shown)"
        click.echo(f"{name} = {json.dumps(str(value) if isinstance(value, Path) else value)}")


@main.command("setup-code")
@pass_context
def setup_code(context: Context) -> None:
    """Print the code that first-run setup in the browser asks for."""
    _ = context.gettext
    with context.open_catalogue() as connection:
        if accounts.has_users(connection):
            raise click.ClickException(_("This library has already been set up."))
    code = context.datadir.secret(SETUP_CODE, new_setup_code)
    click.echo(_("Setup code: %(code)s (open /kelola/siapkan in a browser)") % {"code": code})
