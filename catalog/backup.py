"""Backups of a data directory, made while the server runs, and restores that check every byte.

A backup folder (DEST) holds any number of snapshots and one store of file contents:

DEST/
  objects/ab/<sha256>             each book file, cover, thumbnail or picture, stored once by
                                  the hash of its contents and shared by every snapshot
  snapshots/20261126T023000Z/     one complete backup:
    manifest.json                 what the snapshot holds: every file's path, size and sha256
    catalogue.sqlite3             a consistent copy of the database (SQLite's online backup API)
    secret_key                    the key that signs cookies, when the data directory has one
  .lock                           one backup at a time

Only files not yet in `objects/` are copied, so a nightly backup of an unchanged library
copies the database and little else; a file whose size and modification time match the
previous snapshot is not even read again. A snapshot is written under `.partial-NAME` and
renamed when complete: an interrupted backup never looks like a good one. After a backup the
oldest snapshots beyond `keep` are deleted, with the objects no snapshot needs any more.

The search index and `tmp/` are not backed up: the index is rebuilt from the database.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from catalog.datadir import DataDir, is_disk_full
from catalog.errors import CatalogError
from catalog.i18n import N_

FORMAT = "ebookserver-backup"
FORMAT_VERSION = 1
FOLDERS = ("files", "covers", "thumbs", "images")  # content kept by hash in objects/
SECRETS = ("secret_key",)  # small files kept in each snapshot itself
DATABASE = "catalogue.sqlite3"
MANIFEST = "manifest.json"
_CHUNK = 1024 * 1024


class BackupError(CatalogError):
    code = "backup-error"
    message = N_("The backup failed.")


class BackupNotFound(BackupError):
    code = "backup-not-found"
    message = N_("There is no complete backup in %(path)s.")


class BackupCorrupt(BackupError):
    code = "backup-corrupt"
    message = N_(
        "The backup is damaged: %(path)s %(problem)s. Nothing was restored; try an older snapshot or another copy "
        "of the backup."
    )


class RestoreTargetNotEmpty(BackupError):
    code = "restore-target-not-empty"
    message = N_(
        "The data directory %(path)s is not empty. Restore only into an empty folder: stop the server and move the "
        "old data directory aside first."
    )


class NoCatalogue(BackupError):
    code = "no-catalogue"
    message = N_("There is no catalogue database at %(path)s: check the data directory setting.")


class DatabaseDamaged(BackupError):
    code = "database-damaged"
    message = N_("SQLite reports damage in the database %(path)s; it was not backed up.")


class BackupBusy(BackupError):
    code = "backup-busy"
    message = N_("Another backup is writing to %(path)s; try again when it has finished.")


class BackupDiskFull(BackupError):
    code = "backup-disk-full"
    message = N_(
        "The disk holding %(path)s is full. The unfinished snapshot was deleted; earlier snapshots are kept."
        " Free some space (or keep fewer snapshots), then run the backup again."
    )


class DamagedDataFile(BackupError):
    """A warning: a stored book file's contents no longer match the hash in its name."""

    code = "damaged-data-file"
    message = N_("%(path)s is damaged (its contents do not match its name); it was backed up as it is.")


# Problems detail the file: they are translated and put into BackupCorrupt's message.
MISMATCH = N_("does not match its recorded checksum")
MISSING = N_("is missing")
UNREADABLE_MANIFEST = N_("cannot be read")
UNSAFE_PATH = N_("names a place outside the data directory")


@dataclasses.dataclass
class BackupReport:
    snapshot: Path
    files: int = 0
    copied: int = 0
    copied_bytes: int = 0
    records: int = 0
    schema_version: int = 0
    removed: list[str] = dataclasses.field(default_factory=list)
    warnings: list[CatalogError] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot": str(self.snapshot),
            "files": self.files,
            "copied": self.copied,
            "copied_bytes": self.copied_bytes,
            "records": self.records,
            "schema_version": self.schema_version,
            "removed": self.removed,
            "warnings": [{"code": warning.code, "message_en": warning.render()} for warning in self.warnings],
        }


@dataclasses.dataclass
class RestoreReport:
    snapshot: Path
    files: int
    records: int
    schema_version: int
    migrations: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {key: str(value) if isinstance(value, Path) else value for key, value in vars(self).items()}


# --- backup -----------------------------------------------------------------------------------


def backup(datadir: DataDir, destination: Path, keep: int = 7, now: datetime.datetime | None = None) -> BackupReport:
    """Copy *datadir* into a new snapshot under *destination*, then keep only the newest *keep*."""
    destination = Path(destination).absolute()
    if not datadir.database_path.is_file():
        raise NoCatalogue(path=str(datadir.database_path))
    partial = None
    try:
        for folder in (destination, destination / "snapshots", destination / "objects"):
            _make_private_dir(folder)
        with _locked(destination):
            name = _snapshot_name(destination, now or datetime.datetime.now(datetime.UTC))
            partial = destination / "snapshots" / f".partial-{name}"
            report = _write_snapshot(datadir, destination, partial, name)
            report.removed = _rotate(destination, keep)
    except (OSError, sqlite3.Error) as error:
        if partial is not None:  # nothing half-written stays: not the snapshot, not an object
            shutil.rmtree(partial, ignore_errors=True)
            with contextlib.suppress(OSError):
                (destination / "objects" / f".incoming-{os.getpid()}").unlink(missing_ok=True)
        if is_disk_full(error):
            raise BackupDiskFull(path=str(destination)) from error
        raise
    return report


def _write_snapshot(datadir: DataDir, destination: Path, partial: Path, name: str) -> BackupReport:
    """Write one complete snapshot under *partial*, then rename it to *name*."""
    shutil.rmtree(partial, ignore_errors=True)
    _make_private_dir(partial)
    report = BackupReport(snapshot=destination / "snapshots" / name)
    previous = _previous_entries(destination)
    database = _copy_database(datadir.database_path, partial / DATABASE, report)
    secrets = [_describe(partial / secret_name, secret_name) for secret_name in _copy_secrets(datadir, partial)]
    files = []
    for path in _data_files(datadir):
        with contextlib.suppress(FileNotFoundError):  # deleted since the folder was listed
            files.append(_store(destination, datadir.root, path, previous, report))
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created_at": name,
        "schema_version": report.schema_version,
        "records": report.records,
        "database": database,
        "secrets": secrets,
        "files": files,
    }
    _write_json(partial / MANIFEST, manifest)
    _fsync_dir(partial)
    partial.rename(report.snapshot)
    _fsync_dir(report.snapshot.parent)
    report.files = len(files)
    return report


def _snapshot_name(destination: Path, now: datetime.datetime) -> str:
    base = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    name, number = base, 1
    while (destination / "snapshots" / name).exists():
        number += 1
        name = f"{base}-{number}"
    return name


def _copy_database(source_path: Path, target_path: Path, report: BackupReport) -> dict[str, Any]:
    """A consistent copy through SQLite's backup API: one read transaction, writers go on."""
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        target = sqlite3.connect(str(target_path))
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            if target.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise DatabaseDamaged(path=str(source_path))
            report.schema_version = target.execute("PRAGMA user_version").fetchone()[0]
            with contextlib.suppress(sqlite3.Error):
                report.records = target.execute("SELECT count(*) FROM records").fetchone()[0]
        finally:
            target.close()
    finally:
        source.close()
    with open(target_path, "rb+") as handle:
        os.fsync(handle.fileno())
    os.chmod(target_path, 0o600)
    return _describe(target_path, DATABASE)


def _copy_secrets(datadir: DataDir, partial: Path) -> Iterator[str]:
    for secret_name in SECRETS:
        source = datadir.root / secret_name
        if source.is_file():
            _copy_file(source, partial / secret_name)
            yield secret_name


def _data_files(datadir: DataDir) -> Iterator[Path]:
    for folder in FOLDERS:
        root = datadir.root / folder
        if not root.is_dir():
            continue
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
            for file_name in sorted(names):
                if not file_name.startswith("."):  # half-written files are named .NAME.part
                    yield Path(directory) / file_name


def _previous_entries(destination: Path) -> dict[str, dict[str, Any]]:
    """The newest snapshot's file entries by path, to skip reading files that have not changed."""
    snapshots = _complete_snapshots(destination)
    if not snapshots:
        return {}
    try:
        manifest = _read_manifest(snapshots[-1])
    except BackupError:
        return {}
    return {entry["path"]: entry for entry in manifest.get("files", [])}


def _store(
    destination: Path, root: Path, path: Path, previous: dict[str, dict[str, Any]], report: BackupReport
) -> dict[str, Any]:
    """Add one data file to objects/ unless its contents are there already; its manifest entry."""
    relative = path.relative_to(root).as_posix()
    status = path.stat()
    known = previous.get(relative)
    if (
        known
        and known.get("size") == status.st_size
        and known.get("mtime_ns") == status.st_mtime_ns
        and _object_path(destination, known["sha256"]).is_file()
    ):
        return known
    temporary = destination / "objects" / f".incoming-{os.getpid()}"
    digest, size = _copy_file(path, temporary)
    target = _object_path(destination, digest)
    if target.is_file():
        temporary.unlink()
    else:
        target.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(temporary, target)
        report.copied += 1
        report.copied_bytes += size
    if relative.startswith("files/") and path.name.split(".", 1)[0] != digest:
        report.warnings.append(DamagedDataFile(path=str(path)))
    return {"path": relative, "sha256": digest, "size": size, "mtime_ns": status.st_mtime_ns}


def _object_path(destination: Path, digest: str) -> Path:
    return destination / "objects" / digest[:2] / digest


def _rotate(destination: Path, keep: int) -> list[str]:
    """Delete the oldest snapshots beyond *keep* and objects no remaining snapshot lists."""
    snapshots = _complete_snapshots(destination)
    removed = []
    for old in snapshots[: max(len(snapshots) - max(keep, 1), 0)]:
        shutil.rmtree(old)
        removed.append(old.name)
    for stale in (destination / "snapshots").glob(".partial-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a backup that was interrupted
    needed: set[str] = set()
    for snapshot in _complete_snapshots(destination):
        try:
            needed.update(entry["sha256"] for entry in _read_manifest(snapshot)["files"])
        except (BackupError, KeyError, TypeError):
            return removed  # unsure what is needed: delete no object
    for folder in (destination / "objects").iterdir():
        if folder.is_dir():
            for stored in folder.iterdir():
                if stored.name not in needed:
                    stored.unlink()
    return removed


# --- restore ----------------------------------------------------------------------------------


def find_snapshot(source: Path) -> Path:
    """*source* itself when it is a snapshot, else the newest complete snapshot in it."""
    source = Path(source).absolute()
    if (source / MANIFEST).is_file():
        return source
    snapshots = _complete_snapshots(source)
    if not snapshots:
        raise BackupNotFound(path=str(source))
    return snapshots[-1]


def snapshots(destination: Path) -> list[dict[str, Any]]:
    """The complete snapshots in *destination*, oldest first, with what their manifests say."""
    listed = []
    for snapshot in _complete_snapshots(Path(destination)):
        try:
            manifest = _read_manifest(snapshot)
        except BackupError:
            listed.append({"name": snapshot.name, "ok": False})
            continue
        listed.append(
            {
                "name": snapshot.name,
                "ok": True,
                "records": manifest.get("records"),
                "files": len(manifest.get("files", [])),
                "schema_version": manifest.get("schema_version"),
            }
        )
    return listed


def restore(source: Path, target: DataDir, owner: tuple[int, int] | None = None) -> RestoreReport:
    """Restore the snapshot *source* (or the newest one in it) into the empty data directory
    *target*, checking every file's sha256; on any mismatch nothing is left behind."""
    snapshot = find_snapshot(source)
    manifest = _read_manifest(snapshot)
    objects = snapshot.parent.parent / "objects"
    root = target.root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise RestoreTargetNotEmpty(path=str(root))
    created_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        _restore_checked(snapshot / DATABASE, root / DATABASE, manifest["database"], snapshot)
        for entry in manifest.get("secrets", []):
            _restore_checked(snapshot / _safe_path(entry, snapshot, SECRETS), root / entry["path"], entry, snapshot)
        for entry in manifest["files"]:
            relative = _safe_path(entry, snapshot, FOLDERS)
            _restore_checked(objects / entry["sha256"][:2] / entry["sha256"], root / relative, entry, snapshot)
        applied = target.create()
        with contextlib.closing(sqlite3.connect(str(target.database_path))) as connection:
            if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupCorrupt(path=str(snapshot / DATABASE), problem=MISMATCH)
            records = connection.execute("SELECT count(*) FROM records").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
    except BaseException:
        _empty(root, remove_root=created_root)
        raise
    if owner is not None:
        _chown_tree(root, *owner)
    return RestoreReport(
        snapshot=snapshot, files=len(manifest["files"]), records=records, schema_version=version, migrations=applied
    )


def _safe_path(entry: dict[str, Any], snapshot: Path, allowed_tops: tuple[str, ...]) -> str:
    """The entry's relative path, refused when a tampered manifest points anywhere else."""
    path = PurePosixPath(str(entry.get("path", "")))
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] not in allowed_tops:
        raise BackupCorrupt(path=str(snapshot / MANIFEST), problem=UNSAFE_PATH)
    return path.as_posix()


def _restore_checked(source: Path, target: Path, entry: dict[str, Any], snapshot: Path) -> None:
    if not source.is_file():
        raise BackupCorrupt(path=entry.get("path", str(source)), problem=MISSING)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = _copy_file(source, target)
    if digest != entry.get("sha256") or size != entry.get("size"):
        raise BackupCorrupt(path=entry.get("path", str(source)), problem=MISMATCH)


def _empty(root: Path, remove_root: bool) -> None:
    if remove_root:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for directory, subdirectories, names in os.walk(root):
        for name in subdirectories + names:
            os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)


# --- shared -----------------------------------------------------------------------------------


def _complete_snapshots(destination: Path) -> list[Path]:
    folder = destination / "snapshots"
    if not folder.is_dir():
        return []
    return sorted(
        (path for path in folder.iterdir() if not path.name.startswith(".") and (path / MANIFEST).is_file()),
        key=lambda path: path.name,
    )


def _read_manifest(snapshot: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupCorrupt(path=str(snapshot / MANIFEST), problem=UNREADABLE_MANIFEST) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "database" not in manifest:
        raise BackupCorrupt(path=str(snapshot / MANIFEST), problem=UNREADABLE_MANIFEST)
    return manifest


def _copy_file(source: Path, target: Path) -> tuple[str, int]:
    """Copy *source* to *target* (mode 0600, synced to disk); its sha256 and size."""
    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(source, "rb") as reader, os.fdopen(descriptor, "wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest(), size


def _describe(path: Path, relative: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return {"path": relative, "sha256": digest.hexdigest(), "size": path.stat().st_size}


def _write_json(path: Path, content: dict[str, Any]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(content, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


@contextlib.contextmanager
def _locked(destination: Path) -> Iterator[None]:
    with open(destination / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupBusy(path=str(destination)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
