"""Every setting, declared once with its default and help text.

Values come from, in order of precedence (last wins): the defaults below, the config
file (TOML: `--config FILE` or `EBOOKSERVER_CONFIG`), `EBOOKSERVER_<NAME>` environment
variables, and overrides passed by the caller (command-line options, tests).
`ebookserver config` prints the effective values; `deploy/ebookserver.toml` is generated
from this table.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytz

from catalog.circulation import CirculationPolicy
from catalog.extract import Limits
from catalog.lending import LendingPolicy
from catalog.workers import PoolSettings

MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "./data", "Folder holding the database, book files, covers and search index.", Path),
    Setting("language", "id", "Default language of the interface and messages: id (Bahasa Indonesia) or en."),
    Setting("library_name", "Perpustakaan Desa", "The library's name, shown on every page."),
    Setting("opening_hours", "", "Opening hours shown on the home page, e.g. `Senin–Sabtu 08.00–15.00`."),
    Setting(
        "timezone",
        "Asia/Jakarta",
        "Time zone of the dates and times shown: Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT).",
    ),
    Setting(
        "secret_key",
        "",
        "Key that signs cookies; empty: one is made and kept in the data directory (`secret_key`, mode 0600).",
    ),
    Setting("staff_idle_minutes", 30, "Minutes without activity after which a staff session ends.", int),
    Setting("session_max_hours", 12, "Hours after which any session ends, active or not.", int),
    Setting(
        "patron_idle_minutes", 15, "Minutes without activity after which a patron is signed out (shared PCs).", int
    ),
    Setting("loan_days", 7, "Days an e-book loan lasts when the title sets none; it ends by itself.", int),
    Setting("hold_ready_hours", 48, "Hours a freed e-book copy is kept for the first in its queue.", int),
    Setting(
        "library_networks",
        "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, ::1/128",
        "Address ranges of the library's own PCs, comma-separated: titles for reading in the library only"
        " open only from these.",
    ),
    Setting("host", "127.0.0.1", "Address `serve` listens on (0.0.0.0 for every network interface)."),
    Setting("port", 8080, "TCP port `serve` listens on.", int),
    Setting(
        "public_url",
        "",
        "Address of this server on the library's network, for the TV kiosk's QR codes, e.g. `http://192.168.1.10`;"
        " empty: the address the TV used, else the server's own network address is detected.",
    ),
    Setting("threads", 8, "Request threads in the waitress server.", int),
    Setting(
        "workers",
        0,
        "Server processes sharing the port, each with `threads` threads (0: one per CPU core); searches are"
        " CPU-bound, so a second core needs a second process.",
        int,
    ),
    Setting(
        "overdue_checkout",
        "refuse",
        "Lend printed books to a member who has an overdue loan: refuse (the default) or allow.",
    ),
    Setting(
        "renew_grace_days", 0, "Days late a printed loan may still be renewed (0: renew only before it is due).", int
    ),
    Setting(
        "search_results_cached",
        64,
        "Searches whose ranked results each server process keeps, so the next page costs only its snippets (0: none).",
        int,
    ),
    Setting("max_file_mb", 500, "Largest e-book file accepted, in megabytes.", int),
    Setting("ingest_workers", 0, "Extraction worker processes for imports (0: one per CPU core).", int),
    Setting("ingest_timeout_seconds", 300, "Time budget for reading one file before it is refused.", int),
    Setting("ingest_memory_mb", 1536, "Address-space limit of each extraction worker, in megabytes.", int),
    Setting("zip_max_entries", 10_000, "Most files an EPUB archive may contain.", int),
    Setting("zip_max_uncompressed_mb", 1024, "Most an EPUB may unpack to in total, in megabytes.", int),
    Setting("zip_max_ratio", 200, "Highest compression ratio allowed for a large entry in an EPUB (zip bombs).", int),
    Setting("backup_keep", 7, "Snapshots `ebookserver backup` keeps in its destination; older ones are deleted.", int),
    Setting(
        "upstream_url",
        "",
        "Address the daily usage reports are POSTed to (the regional library's receiver); empty: nothing is sent.",
    ),
    Setting("upstream_token", "", "Bearer token the receiver expects with each report (never printed)."),
    Setting(
        "stats_min_count",
        5,
        "Title-level counts below this number are left out of the daily report, so no reader can be singled out.",
        int,
    ),
    Setting(
        "events_keep_days",
        90,
        "Days usage events are kept with their time; older days keep only daily counts (`ebookserver push-stats`).",
        int,
    ),
    Setting(
        "oai_admin_email",
        "",
        "Contact address OAI-PMH harvesters see in Identify; empty: `pengelola@perpustakaan.invalid`.",
    ),
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}
SECRET_SETTINGS = frozenset({"secret_key", "upstream_token"})  # never printed


class SettingsError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Settings:
    values: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def data_dir(self) -> Path:
        return Path(self.values["data_dir"])

    def limits(self) -> Limits:
        return Limits(
            max_file_bytes=self.values["max_file_mb"] * MB,
            zip_max_entries=self.values["zip_max_entries"],
            zip_max_uncompressed_bytes=self.values["zip_max_uncompressed_mb"] * MB,
            zip_max_entry_bytes=min(self.values["zip_max_uncompressed_mb"], 256) * MB,
            zip_max_ratio=self.values["zip_max_ratio"],
        )

    def circulation_policy(self) -> CirculationPolicy:
        """The lending rules for printed copies."""
        return CirculationPolicy(
            timezone=self.values["timezone"],
            overdue_checkout=self.values["overdue_checkout"],
            renew_grace_days=self.values["renew_grace_days"],
        )

    def lending_policy(self) -> LendingPolicy:
        """The e-lending rules beyond each title's licence."""
        return LendingPolicy(loan_days=self.values["loan_days"], hold_ready_hours=self.values["hold_ready_hours"])

    def library_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.values["library_networks"])

    def pool(self) -> PoolSettings:
        return PoolSettings(
            processes=self.values["ingest_workers"] or os.cpu_count() or 1,
            timeout_seconds=self.values["ingest_timeout_seconds"],
            memory_limit_mb=self.values["ingest_memory_mb"],
        )


def load_settings(
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    values = {setting.name: setting.default for setting in SETTINGS}
    config_file = config_file or environ.get("EBOOKSERVER_CONFIG")
    if config_file:
        values.update(_read_config(Path(config_file)))
    for setting in SETTINGS:
        variable = f"EBOOKSERVER_{setting.name.upper()}"
        if environ.get(variable):
            values[setting.name] = _convert(setting, environ[variable], variable)
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _convert(_setting(name, "override"), value, name)
    values["data_dir"] = Path(values["data_dir"]).expanduser()
    if values["overdue_checkout"] not in ("refuse", "allow"):
        raise SettingsError(f"overdue_checkout: {values['overdue_checkout']!r} is neither refuse nor allow")
    if values["events_keep_days"] < 1:
        raise SettingsError("events_keep_days must be at least 1")
    if values["renew_grace_days"] < 0:
        raise SettingsError("renew_grace_days cannot be negative")
    try:
        LendingPolicy(loan_days=values["loan_days"], hold_ready_hours=values["hold_ready_hours"])
        _networks(values["library_networks"])
    except ValueError as error:
        raise SettingsError(f"e-lending settings: {error}") from None
    try:
        pytz.timezone(values["timezone"])
    except pytz.UnknownTimeZoneError:
        raise SettingsError(f"timezone: {values['timezone']!r} is not a known time zone, e.g. Asia/Jakarta") from None
    return Settings(values)


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`"192.168.0.0/16, 10.0.0.0/8"` as networks; ValueError names a wrong one."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in str(text).split(",") if part.strip())


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError as error:
        raise SettingsError(f"config file not found: {path}") from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path} is not valid TOML: {error}") from error
    if any(table.get(name) for name in SECRET_SETTINGS) and path.stat().st_mode & stat.S_IROTH:
        logging.getLogger("ebookserver").warning(
            "config file %s holds a secret but every user of this computer can read it: chmod 640 %s", path, path
        )
    return {name: _convert(_setting(name, str(path)), value, f"{path}: {name}") for name, value in table.items()}


def _setting(name: str, where: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise SettingsError(f"unknown setting {name!r} in {where}") from None


def _convert(setting: Setting, value: Any, where: str) -> Any:
    try:
        return setting.kind(value)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"{where}: {value!r} is not a valid {setting.kind.__name__}") from error


def example_config() -> str:
    """A TOML file listing every setting with its help text and default, commented out."""
    lines = ["# ebookserver configuration. Every setting is shown with its default.", ""]
    for setting in SETTINGS:
        default = setting.default
        rendered = f'"{default}"' if isinstance(default, str) else str(default)
        lines += [f"# {setting.help}", f"# {setting.name} = {rendered}", ""]
    return "\n".join(lines)
