"""A full disk for real: the data directory on a small tmpfs, filled up, while a librarian
uploads, the command line imports and `ebookserver backup` writes a snapshot there.

Mounting needs privileges. `mounting()` finds a way, in this order: `mount -t tmpfs` as we are
(root), or `unshare --user --map-root-user --mount` (a private mount namespace in which we may
mount: the scenarios then run as a child process inside it); else it says exactly why neither
works, and the test is skipped with that reason.

    python -m tests.robustness.fulldisk WORKDIR      # mounts WORKDIR/disk, runs, prints JSON facts
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import urllib.error
from pathlib import Path

from tests.builders import make_epub
from tests.robustness.invariants import index_consistent
from tests.robustness.powercut import upload_one
from tests.robustness.rig import Rig
from tests.web.client import Client

DISK_MB = 48
BIG_BOOK_MB = 1
STEP_BYTES = 384 * 1024


def _mount(mountpoint: Path, prefix: list[str]) -> subprocess.CompletedProcess:
    mountpoint.mkdir(parents=True, exist_ok=True)
    command = [*prefix, "mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0755", "tmpfs", str(mountpoint)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]


def mounting(probe: Path) -> tuple[list[str] | None, str]:
    """(command prefix to run the scenarios with, how) or (None, why no way works)."""
    direct = _mount(probe, [])
    if direct.returncode == 0:
        subprocess.run(["umount", str(probe)], check=False)  # noqa: S607
        return [], "mount -t tmpfs"
    try:
        private = _mount(probe, UNSHARE)
    except FileNotFoundError:
        return None, f"mount -t tmpfs was refused ({direct.stderr.strip()}) and unshare is not installed"
    if private.returncode == 0:
        return UNSHARE, "unshare --user --map-root-user --mount, then mount -t tmpfs"
    return None, (
        f"mount -t tmpfs was refused ({direct.stderr.strip()}) and so was unshare --user --mount"
        f" ({private.stderr.strip()}): this container may neither mount nor make user namespaces"
    )


def run_in(prefix: list[str], workdir: Path) -> dict:
    """Run the scenarios in a child process (inside the namespace when *prefix* makes one)."""
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "tests.robustness.fulldisk", str(workdir)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the full-disk scenarios failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- inside the mount ---------------------------------------------------------------------------


def free_bytes(path: Path) -> int:
    status = os.statvfs(path)
    return status.f_bavail * status.f_frsize


def fill(folder: Path, leave: int) -> None:
    """Write a filler file so that about *leave* bytes stay free on *folder*'s filesystem."""
    filler = folder / f"filler-{len(list(folder.glob('filler-*')))}"
    size = max(free_bytes(folder) - leave, 0)
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while size > 0:
            chunk = min(size, 1024 * 1024)
            handle.write(b"\0" * chunk)
            size -= chunk


def empty(folder: Path) -> None:
    for filler in folder.glob("filler-*"):
        filler.unlink()


def big_book(folder: Path, megabytes: int, seed: int) -> Path:
    """An EPUB of about *megabytes* that does not compress (random text), never seen before."""
    chance = random.Random(seed)
    chapters = tuple(base64.b64encode(chance.randbytes(megabytes * 1024 * 1024 // 4)).decode() for _ in range(3))
    return make_epub(folder, title=f"Buku Besar {seed}", chapters=chapters, name=f"besar-{seed}.epub")


def leftovers(rig: Rig) -> list[str]:
    """Half-written files anywhere in the data directory, and anything in tmp/."""
    found = [str(path.relative_to(rig.datadir.root)) for path in rig.datadir.tmp_dir.iterdir()]
    for path in rig.datadir.root.rglob("*"):
        if path.name.endswith((".part", ".tmp")) or ".partial-" in path.name or ".incoming-" in path.name:
            found.append(str(path.relative_to(rig.datadir.root)))
    return found


def state(rig: Rig) -> dict:
    """What a check after each scenario needs: integrity, counts, stray files, and reading works."""
    connection = sqlite3.connect(rig.datadir.database_path, timeout=30)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        records = connection.execute("SELECT count(*) FROM records").fetchone()[0]
        first = connection.execute("SELECT min(id) FROM records").fetchone()[0]
    finally:
        connection.close()
    client = Client(rig.base)
    reading = {
        "home": client.get("/").status,
        "search": client.get("/cari?q=padi").status,
        "search_hits": "Buku Uji" in client.get("/cari?q=padi").text,
        "record": client.get(f"/buku/{first}").status,
        "reader": client.get(f"/baca/{first}/1").status,
    }
    return {
        "integrity": integrity,
        "records": records,
        "stored_files": sorted(str(path.name) for _sha, path in rig.datadir.stored_files()),
        "leftovers": leftovers(rig),
        "reading": reading,
    }


def scenarios(workdir: Path) -> dict:
    disk = workdir / "disk"
    rig = Rig(disk / "library")
    books = workdir / "books"
    books.mkdir(parents=True, exist_ok=True)
    facts: dict = {"disk_mb": DISK_MB}
    try:
        rig.prepare(books=2, patrons=1, past_days=0)
        with rig.connect() as connection:
            connection.execute("UPDATE records SET licence = 'open-access'")
        rig.start_server()
        facts["before"] = state(rig)
        client = rig.staff_client()
        token = client.get("/kelola/katalog/unggah").csrf_token()
        # Uploads, then command-line imports, each of a book never seen, with less and less room
        # missing: the disk fills while receiving, while storing, while indexing — or not at all.
        facts["upload"] = _sweep(disk, rig, big_book(books, BIG_BOOK_MB, 1), lambda book: _upload(client, token, book))
        facts["import"] = _sweep(disk, rig, big_book(books, BIG_BOOK_MB, 2), lambda book: _import(rig, book))
        # With room again, the next import brings an index that missed a book up to date.
        facts["recovery"] = {**_import(rig, rig.new_books(1)), "index": index_consistent(rig)}
        facts["recovery"].update(state(rig))
        # A backup into the full filesystem.
        fill(disk, leave=64 * 1024)
        done = rig.run("backup", str(disk / "backups"))
        backups = disk / "backups"
        facts["backup"] = {
            "destination": str(backups),
            "exit": done.returncode,
            "output": done.stdout + done.stderr,
            "backup_leftovers": sorted(
                str(path.relative_to(backups)) for path in backups.rglob("*") if path.name.startswith(".")
            )
            if backups.exists()
            else [],
            **state(rig),
        }
        empty(disk)
        facts["backup_after"] = {"exit": rig.run("backup", str(disk / "backups")).returncode}
        facts["index_after"] = rig.health()["index"]
    finally:
        rig.stop()
    return facts


def _sweep(disk: Path, rig: Rig, book: Path, attempt) -> list[dict]:
    """Try *attempt(book)* with less and less room missing, until the book is stored: first half
    the book's size (an upload does not even arrive), then from one and a half times its size
    (an upload arrives but cannot be stored) upwards in small steps (storing, then indexing)."""
    steps = []
    size = book.stat().st_size
    leaves = [size // 2, *range(size * 3 // 2, free_bytes(disk), STEP_BYTES)]
    for leave in leaves:
        fill(disk, leave=leave)
        step = {"leave": leave, **attempt(book)}
        step.update(state(rig))
        empty(disk)
        steps.append(step)
        print(f"{book.name}: {leave} bytes left -> {step['kind']}", file=sys.stderr, flush=True)
        if step["status"] == "imported":
            break
    return steps


def _import(rig: Rig, book: Path) -> dict:
    done = rig.run("import", "--json", str(book))
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    status = lines[0]["status"] if lines else None
    return {
        "exit": done.returncode,
        "output": done.stdout + done.stderr,
        "status": status,
        "reason_code": lines[0]["reason_code"] if lines else None,
        "kind": _kind(status, done.returncode != 0),
    }


def _upload(client: Client, token: str, book: Path) -> dict:
    try:
        answer = upload_one(client, token, book)
    except urllib.error.HTTPError as error:
        with error:
            body = error.read().decode("utf-8", "replace")
        return {"http": error.code, "answer": body, "status": None, "kind": "refused"}
    status = answer["files"][0]["status"]
    return {"http": 200, "answer": answer, "status": status, "kind": _kind(status, "error" in answer)}


def _kind(status: str | None, complained: bool) -> str:
    if status != "imported":
        return "refused"
    return "not-indexed" if complained else "indexed"


def main(workdir: Path) -> None:
    disk = workdir / "disk"
    mounted = _mount(disk, [])
    if mounted.returncode != 0:
        raise SystemExit(f"cannot mount a tmpfs at {disk}: {mounted.stderr}")
    try:
        facts = scenarios(workdir)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)  # noqa: S607
    print(json.dumps(facts, ensure_ascii=False))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
