"""`ebookserver doctor`: is this server healthy, and if not, what to do — in plain words.

Each check returns a `Finding`: a status (`ok`, `warning`, `problem`, `skipped`), a message
and, when something is wrong, advice a sysadmin or librarian can follow. Messages are English
ids marked with `N_`; the command line prints them in the configured language and the other.
Reading the report changes nothing on disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalog import db
from catalog.datadir import DataDir
from catalog.i18n import N_
from ebookserver.settings import Settings

MB = 1024 * 1024
DISK_PROBLEM_BYTES = 500 * MB  # imports and backups fail soon
DISK_WARNING_BYTES = 2048 * MB
DISK_WARNING_PERCENT = 10
EARLIEST_PLAUSIBLE = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)  # this version did not exist before
UPSTREAM_TIMEOUT_SECONDS = 5


@dataclasses.dataclass
class Finding:
    check: str
    status: str  # ok, warning, problem, skipped
    message: str
    advice: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        return _render(self.message, self.params, gettext)

    def render_advice(self, gettext: Callable[[str], str] | None = None) -> str | None:
        return _render(self.advice, self.params, gettext) if self.advice else None

    def as_dict(self, gettext: Callable[[str], str]) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.render(gettext),
            "message_en": self.render(),
            "advice": self.render_advice(gettext),
            "advice_en": self.render_advice(),
        }


def _render(message: str, params: dict[str, Any], gettext: Callable[[str], str] | None) -> str:
    translate = gettext or (lambda text: text)
    try:
        return translate(message) % params
    except (KeyError, ValueError, TypeError):
        return translate(message)


def disk_space(path: Path) -> dict[str, Any]:
    """Free and total bytes of the file system holding *path*, and whether that is enough."""
    usage = shutil.disk_usage(path)
    percent = round(100 * usage.free / usage.total, 1) if usage.total else 0.0
    return {
        "ok": usage.free >= DISK_WARNING_BYTES and percent >= DISK_WARNING_PERCENT,
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "free_percent": percent,
    }


def examine(settings: Settings, config_file: Path | None, now: datetime.datetime | None = None) -> list[Finding]:
    """Every check, in the order a person would look."""
    datadir = DataDir(settings.data_dir)
    findings = [*check_config(settings, config_file), *check_data_dir(datadir), check_disk(datadir)]
    if datadir.database_path.is_file():
        with contextlib.closing(sqlite3.connect(f"file:{datadir.database_path}?mode=ro", uri=True)) as connection:
            findings += check_database(connection, datadir)
            findings.append(check_clock(connection, now or datetime.datetime.now(datetime.UTC)))
    findings.append(check_upstream(settings))
    return findings


# --- configuration and permissions -------------------------------------------------------------


def check_config(settings: Settings, config_file: Path | None) -> list[Finding]:
    findings = []
    if config_file is None:
        findings.append(
            Finding(
                "config",
                "ok",
                N_("No configuration file: the defaults and EBOOKSERVER_* environment variables are used."),
            )
        )
    else:
        mode = config_file.stat().st_mode
        if settings.secret_key and mode & 0o004:
            findings.append(
                Finding(
                    "config",
                    "warning",
                    N_(
                        "The configuration file %(path)s holds the secret key and every user of this computer "
                        "can read it."
                    ),
                    N_("Make it readable by the server only: chown root:ebookserver %(path)s; chmod 640 %(path)s"),
                    {"path": str(config_file)},
                )
            )
        else:
            findings.append(
                Finding("config", "ok", N_("Configuration file %(path)s read."), params={"path": str(config_file)})
            )
    if settings.host in ("127.0.0.1", "localhost", "::1"):
        findings.append(
            Finding(
                "config",
                "warning",
                N_(
                    "The server listens on %(host)s: only this computer can open the catalogue, "
                    "not the PCs, phones or TV."
                ),
                N_('Set host = "0.0.0.0" in the configuration file and restart the server.'),
                {"host": settings.host},
            )
        )
    return findings


def check_data_dir(datadir: DataDir) -> list[Finding]:
    root = datadir.root
    params = {"path": str(root)}
    if not root.is_dir():
        return [
            Finding(
                "permissions",
                "problem",
                N_("The data directory %(path)s does not exist."),
                N_("Check data_dir in the configuration file, or create it with: ebookserver init"),
                params,
            )
        ]
    findings = []
    unwritable = [
        str(path)
        for path in (root, datadir.database_path, *(root / folder for folder in ("files", "covers", "thumbs", "index")))
        if path.exists() and not os.access(path, os.W_OK)
    ]
    if unwritable:
        findings.append(
            Finding(
                "permissions",
                "problem",
                N_("This user cannot write to %(places)s; imports, loans and sign-ins will fail."),
                N_("Give the data directory back to the server's user: chown -R ebookserver:ebookserver %(path)s"),
                {**params, "places": ", ".join(unwritable[:3]) + (" …" if len(unwritable) > 3 else "")},
            )
        )
    owner = root.stat().st_uid
    strangers = sum(
        1 for path in _walk(root) if path.lstat().st_uid != owner and not path.is_relative_to(datadir.tmp_dir)
    )
    if strangers:
        findings.append(
            Finding(
                "permissions",
                "warning",
                N_("%(count)d files in %(path)s belong to another user than the data directory does."),
                N_(
                    "Run commands as the server's user (sudo -u ebookserver ebookserver …), and give the files back: "
                    "chown -R ebookserver:ebookserver %(path)s"
                ),
                {**params, "count": strangers},
            )
        )
    secret = root / "secret_key"
    if secret.is_file() and secret.stat().st_mode & 0o077:
        findings.append(
            Finding(
                "permissions",
                "warning",
                N_("The secret key file %(secret)s can be read by other users."),
                N_("Make it private: chmod 600 %(secret)s"),
                {**params, "secret": str(secret)},
            )
        )
    if not findings:
        findings.append(Finding("permissions", "ok", N_("The data directory %(path)s is writable."), params=params))
    return findings


def _walk(root: Path):
    for directory, _subdirectories, names in os.walk(root):
        yield Path(directory)
        for name in names:
            yield Path(directory) / name


# --- disk, database, index, files -------------------------------------------------------------


def check_disk(datadir: DataDir) -> Finding:
    where = datadir.root if datadir.root.exists() else datadir.root.parent
    space = disk_space(where)
    params = {"free_mb": space["free_bytes"] // MB, "percent": space["free_percent"], "path": str(where)}
    if space["free_bytes"] < DISK_PROBLEM_BYTES:
        return Finding(
            "disk",
            "problem",
            N_("Only %(free_mb)d MB free on the disk of %(path)s: imports and backups will fail."),
            N_("Free space: delete old files outside the library, or move backups to a USB disk."),
            params,
        )
    if not space["ok"]:
        return Finding(
            "disk",
            "warning",
            N_("The disk of %(path)s is getting full: %(free_mb)d MB (%(percent)s%%) free."),
            N_("Free space soon: delete old files outside the library, or move backups to a USB disk."),
            params,
        )
    return Finding("disk", "ok", N_("%(free_mb)d MB (%(percent)s%%) free on the disk."), params=params)


def check_database(connection: sqlite3.Connection, datadir: DataDir) -> list[Finding]:
    version, latest = db.schema_version(connection), db.latest_version()
    findings = []
    if version > latest:
        findings.append(
            Finding(
                "database",
                "problem",
                N_("The database is newer (version %(version)d) than this program knows (%(latest)d)."),
                N_("Install the newer ebookserver again (deploy/install.sh); do not use this older one."),
                {"version": version, "latest": latest},
            )
        )
    elif version < latest:
        findings.append(
            Finding(
                "database",
                "warning",
                N_("The database is at version %(version)d and will be upgraded to %(latest)d."),
                N_("Restart the server or run: ebookserver init"),
                {"version": version, "latest": latest},
            )
        )
    check = connection.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        findings.append(
            Finding(
                "database",
                "problem",
                N_("SQLite reports damage in the database: %(detail)s"),
                N_("Stop the server and restore the latest backup: ebookserver restore /var/backups/ebookserver"),
                {"detail": check},
            )
        )
    if not findings:
        findings.append(
            Finding("database", "ok", N_("The database is sound (version %(version)d)."), params={"version": version})
        )
    if version >= 1:
        findings.append(_check_index(connection, datadir))
        findings.append(_check_files(connection, datadir))
    return findings


def _check_index(connection: sqlite3.Connection, datadir: DataDir) -> Finding:
    from catalog import search as search_engine

    records = connection.execute("SELECT count(*) FROM records").fetchone()[0]
    index = search_engine.open_index(datadir)
    try:
        indexed = index.meta().get("records") or 0  # no index yet: none indexed
    finally:
        index.close()
    params = {"records": records, "indexed": indexed}
    if indexed == records:
        return Finding("index", "ok", N_("The search index holds all %(records)d records."), params=params)
    return Finding(
        "index",
        "warning",
        N_("The search index holds %(indexed)d of %(records)d records; searches miss the rest."),
        N_("The server rebuilds it when it starts; or run: ebookserver reindex"),
        params,
    )


def _check_files(connection: sqlite3.Connection, datadir: DataDir) -> Finding:
    stored = connection.execute("SELECT sha256, format FROM ebook_files").fetchall()
    missing = [sha256 for sha256, file_format in stored if not datadir.book_path(sha256, file_format).is_file()]
    if missing:
        return Finding(
            "files",
            "problem",
            N_("%(missing)d of %(total)d e-book files are missing from the data directory."),
            N_("Restore the latest backup into an empty data directory, or import those books again."),
            {"missing": len(missing), "total": len(stored)},
        )
    return Finding("files", "ok", N_("All %(total)d e-book files are in place."), params={"total": len(stored)})


# --- clock and upstream ------------------------------------------------------------------------

_STAMPED = (  # tables whose rows carry the time they were written (UTC, ISO 8601)
    ("records", "created_at"),
    ("ebook_files", "imported_at"),
    ("print_loans", "loaned_at"),
    ("audit_log", "at"),
)


def check_clock(connection: sqlite3.Connection, now: datetime.datetime) -> Finding:
    newest = None
    for table, column in _STAMPED:
        with contextlib.suppress(sqlite3.Error):
            value = connection.execute(f"SELECT max({column}) FROM {table}").fetchone()[0]  # noqa: S608 (fixed names)
            if value and (newest is None or value > newest):
                newest = value
    params = {"now": now.strftime("%Y-%m-%d %H:%M UTC"), "newest": newest or "-"}
    advice = N_(
        "Set the date and time: sudo timedatectl set-time 'YYYY-MM-DD HH:MM:SS' (or sudo date -s …); "
        "with internet, sudo timedatectl set-ntp true keeps it right. A clock that goes back after every "
        "power cut needs a new battery (CMOS) on the motherboard. Loan due dates depend on the clock."
    )
    if now < EARLIEST_PLAUSIBLE:
        return Finding("clock", "problem", N_("The server's clock says %(now)s, which is too early."), advice, params)
    if newest:
        with contextlib.suppress(ValueError):
            written = datetime.datetime.fromisoformat(newest.replace("Z", "+00:00"))
            if written.tzinfo is None:
                written = written.replace(tzinfo=datetime.UTC)
            if written - now > datetime.timedelta(hours=1):
                return Finding(
                    "clock",
                    "problem",
                    N_(
                        "The server's clock says %(now)s, but the catalogue was changed at %(newest)s: "
                        "the clock is behind."
                    ),
                    advice,
                    params,
                )
    return Finding("clock", "ok", N_("The clock says %(now)s."), params=params)


def check_upstream(settings: Settings, opener: Callable[..., Any] = urllib.request.urlopen) -> Finding:
    url = settings.values.get("upstream_url") or ""
    if not url:
        return Finding("upstream", "skipped", N_("No upstream_url is set: statistics are not sent anywhere."))
    try:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url}")
        request = urllib.request.Request(url, method="HEAD")  # noqa: S310 (http and https only, checked above)
        with opener(request, timeout=UPSTREAM_TIMEOUT_SECONDS):
            pass
    except urllib.error.HTTPError:
        pass  # it answered: reachable
    except (OSError, ValueError) as error:
        return Finding(
            "upstream",
            "warning",
            N_("%(url)s cannot be reached now (%(error)s); statistics wait in the outbox until it can."),
            N_("This is normal without internet. When the modem is on, check its data plan and signal."),
            {"url": url, "error": error},
        )
    return Finding("upstream", "ok", N_("%(url)s can be reached."), params={"url": url})
