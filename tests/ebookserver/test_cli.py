"""The `ebookserver` command through click's runner, as a sysadmin or a script uses it."""

from __future__ import annotations

import json

from tests.builders import make_epub, make_pdf


def test_init_creates_the_data_directory(runner, tmp_path):
    result = runner("init")
    assert result.exit_code == 0
    data = tmp_path / "data"
    assert (data / "catalogue.sqlite3").is_file()
    for folder in ("files", "covers", "thumbs", "index", "tmp"):
        assert (data / folder).is_dir()
    # a second init changes nothing and says so without error
    assert runner("init").exit_code == 0


def test_data_dir_option_wins_over_the_environment(runner, tmp_path):
    other = tmp_path / "lain"
    assert runner("--data-dir", other, "init").exit_code == 0
    assert (other / "catalogue.sqlite3").is_file()
    assert not (tmp_path / "data").exists()


def test_import_json_prints_one_object_per_file_and_fails_on_refusals(runner, tmp_path):
    good = make_epub(tmp_path, title="Buku Baik")
    bad = tmp_path / "palsu.pdf"
    bad.write_text("<html><body>bukan pdf</body></html>")
    result = runner("import", good, bad, "--json")
    assert result.exit_code != 0
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    by_name = {line["path"].rsplit("/", 1)[-1]: line for line in lines}
    assert by_name["buku-baik.epub"]["status"] == "imported"
    assert isinstance(by_name["buku-baik.epub"]["id"], int)
    refused = by_name["palsu.pdf"]
    assert refused["status"] == "refused"
    assert refused["id"] is None
    assert refused["reason_code"] == "disguised-file"
    assert "PDF" in refused["reason_en"]
    assert refused["reason"]


def test_import_prints_a_summary_with_each_refusal_reason(runner, tmp_path):
    empty = tmp_path / "kosong.epub"
    empty.write_bytes(b"")
    make_pdf(tmp_path, title="Isi")
    result = runner("import", tmp_path)
    assert result.exit_code == 1
    assert "kosong.epub" in result.output
    assert "The file is empty" in result.output  # the English half of the bilingual reason
    assert "1" in result.output.splitlines()[-1]
    rerun = runner("import", tmp_path / "isi.pdf", "--json")
    assert rerun.exit_code == 0
    assert json.loads(rerun.stdout.splitlines()[0])["status"] == "duplicate"


def test_list_and_show_print_records_as_json(runner, tmp_path):
    make_pdf(tmp_path, title="Panduan Bertani", author="Dinas Pertanian")
    runner("import", tmp_path)
    listed = json.loads(runner("list", "--json").stdout)
    assert [record["title"] for record in listed] == ["Panduan Bertani"]
    record_id = listed[0]["id"]
    shown = json.loads(runner("show", record_id, "--json").stdout)
    for key in (
        "id", "title", "authors", "language", "identifiers", "publisher", "year", "subjects",
        "format", "pages", "has_cover", "has_text", "sha256",
    ):  # fmt: skip
        assert key in shown, key
    assert shown["authors"] == ["Dinas Pertanian"]
    assert shown["format"] == "pdf"
    plain = runner("show", record_id)
    assert "Panduan Bertani" in plain.output


def test_show_of_a_missing_record_is_a_clear_error(runner):
    result = runner("show", "999")
    assert result.exit_code != 0
    assert "999" in result.output
    assert "Traceback" not in result.output


def test_config_example_lists_every_setting(runner):
    from ebookserver.settings import SETTINGS

    output = runner("config", "--example").output
    for setting in SETTINGS:
        assert f"# {setting.name} = " in output


# --- members and loans of printed copies --------------------------------------------------------


def _shelve(tmp_path, *barcodes):
    """A record with printed copies in the runner's data directory."""
    import contextlib

    from catalog.datadir import DataDir
    from catalog.records import add_item

    datadir = DataDir(tmp_path / "data")
    datadir.create()
    with contextlib.closing(datadir.connect()) as connection:
        record_id = connection.execute("INSERT INTO records (title) VALUES ('Si Kancil')").lastrowid
        for barcode in barcodes:
            add_item(connection, record_id, barcode=barcode)
    return datadir


def test_member_add_and_list(runner, monkeypatch):
    monkeypatch.setenv("EBOOKSERVER_LANGUAGE", "en")
    added = runner("member", "add", "Siti Rahayu", "--birth-year", "1990", "--gender", "p", "--json")
    assert added.exit_code == 0, added.output
    siti = json.loads(added.stdout)
    assert siti["number"].startswith("A") and siti["gender"] == "P" and siti["age_band"] == "19-59"
    plain = runner("member", "add", "Budi Santoso", "--number", "K-7", "--category", "anak")
    assert plain.exit_code == 0
    assert "K-7" in plain.output and "Budi Santoso" in plain.output
    listed = json.loads(runner("member", "list", "--json").stdout)
    assert [member["number"] for member in listed] == ["K-7", siti["number"]]
    assert "Siti Rahayu" in runner("member", "list", "rahayu").output
    assert "Budi" not in runner("member", "list", "rahayu").output


def test_member_add_refusals_are_clear_and_in_the_users_language(runner):
    runner("member", "add", "Siti", "--number", "K-7")
    duplicate = runner("member", "add", "Budi", "--number", "k-7")
    assert duplicate.exit_code == 1
    assert "K-7" in duplicate.output.upper() and "sudah" in duplicate.output  # Indonesian by default
    assert "Traceback" not in duplicate.output
    too_old = runner("member", "add", "Budi", "--birth-year", "1800")
    assert too_old.exit_code == 1
    assert "1800" in too_old.output
    assert runner("member", "add", "Budi", "--category", "tamu").exit_code == 1


def test_member_pin_is_asked_twice_and_hidden(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ebookserver.cli import main

    monkeypatch.setenv("EBOOKSERVER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EBOOKSERVER_LANGUAGE", "en")
    cli = CliRunner()
    cli.invoke(main, ["member", "add", "Siti", "--number", "K-7"])
    result = cli.invoke(main, ["member", "pin", "k-7"], input="246810\n246810\n")
    assert result.exit_code == 0, result.output
    assert "246810" not in result.output
    assert "PIN" in result.output and "K-7" in result.output
    mismatch = cli.invoke(main, ["member", "pin", "K-7"], input="1111\n2222\n3333\n3333\n")
    assert mismatch.exit_code == 0  # asked again until both agree
    too_short = cli.invoke(main, ["member", "pin", "K-7"], input="12\n12\n")
    assert too_short.exit_code == 1
    assert "4 to 8 digits" in too_short.output
    unknown = cli.invoke(main, ["member", "pin", "X-1"], input="1234\n1234\n")
    assert unknown.exit_code == 1 and "X-1" in unknown.output

    import contextlib

    from catalog import pins
    from catalog.datadir import DataDir

    with contextlib.closing(DataDir(tmp_path / "data").connect()) as connection:
        assert pins.verify_pin(connection, "K-7", "3333")["name"] == "Siti"


def test_loan_out_in_and_overdue(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("EBOOKSERVER_LANGUAGE", "en")
    datadir = _shelve(tmp_path, "B001", "B002")
    runner("member", "add", "Siti", "--number", "K-7")
    out = runner("loan", "out", "B001", "k-7", "--json")
    assert out.exit_code == 0, out.output
    loan = json.loads(out.stdout)
    assert (loan["barcode"], loan["member_number"], loan["overdue"]) == ("B001", "K-7", False)
    plain = runner("loan", "out", "B002", "K-7")
    assert "Si Kancil" in plain.output and "due" in plain.output
    again = runner("loan", "out", "B001", "K-7")
    assert again.exit_code == 1 and "already on loan" in again.output
    assert "No loans are overdue" in runner("loan", "overdue").output
    assert runner("loan", "renew", "B002").exit_code == 0
    assert "renewal limit" in runner("loan", "renew", "B002").output

    import contextlib

    with contextlib.closing(datadir.connect()) as connection:  # B001 was due ten days ago
        connection.execute("UPDATE print_loans SET due_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-10 days')")
    overdue = json.loads(runner("loan", "overdue", "--json").stdout)
    assert [row["barcode"] for row in overdue] == ["B001", "B002"]
    assert overdue[0]["days_late"] in (10, 11)  # depending on the hour in Jakarta
    assert "days late" in runner("loan", "overdue").output
    back = runner("loan", "in", "B001")
    assert back.exit_code == 0
    assert "Returned: B001" in back.output and "days late" in back.output
    assert json.loads(runner("loan", "in", "B002", "--json").stdout)["overdue"] is True
    not_lent = runner("loan", "in", "B002")
    assert not_lent.exit_code == 1 and "not on loan" in not_lent.output
    assert runner("loan", "out", "NOPE", "K-7").exit_code == 1


def test_loan_messages_are_indonesian_by_default(runner, tmp_path):
    _shelve(tmp_path, "B001")
    runner("member", "add", "Siti", "--number", "K-7")
    out = runner("loan", "out", "B001", "K-7")
    assert out.exit_code == 0
    assert "Dipinjam" in out.output or "dipinjam" in out.output
    refused = runner("loan", "out", "B001", "K-7")
    assert "sedang dipinjam" in refused.output


# --- the print catalogue ------------------------------------------------------------------


def test_catalogue_import_dry_run_then_for_real_then_export_and_labels(runner, tmp_path):
    import pymupdf

    from tests.catalog.test_printed import indonesian_book, iso2709

    marc_file = tmp_path / "ekspor.mrc"
    marc_file.write_bytes(iso2709(indonesian_book()))
    dry = runner("catalogue", "import", marc_file, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert (report["format"], report["dry_run"], report["committed"]) == ("marc", True, False)
    assert (report["new_records"], report["new_items"], report["errors"]) == (1, 2, 0)
    assert json.loads(runner("list", "--json").stdout) == []

    real = runner("catalogue", "import", marc_file)
    assert real.exit_code == 0, real.output
    assert "1 cantuman baru" in real.output  # the configured language is Indonesian
    [record] = json.loads(runner("list", "--json").stdout)
    assert record["source"] == "marc" and len(record["items"]) == 2

    again = json.loads(runner("catalogue", "import", marc_file, "--json").stdout)
    assert (again["new_records"], again["merged_records"], again["new_items"], again["skipped_items"]) == (0, 1, 0, 2)

    exported = runner("catalogue", "export")
    assert exported.exit_code == 0 and "<collection" in exported.stdout and "B0001" in exported.stdout
    out = tmp_path / "katalog.xml"
    assert runner("catalogue", "export", record["id"], "--out", out).exit_code == 0
    assert out.read_bytes().count(b"<record>") == 1

    pdf = tmp_path / "label.pdf"
    labels = runner("catalogue", "labels", *[item["id"] for item in record["items"]], "--out", pdf)
    assert labels.exit_code == 0, labels.output
    text = "".join(page.get_text() for page in pymupdf.open(pdf))
    assert text.count("B0001") == 1 and text.count("B0002") == 1


def test_catalogue_import_of_a_bad_file_lists_numbered_problems_and_writes_nothing(runner, tmp_path):
    from tests.catalog.test_printed import slims_csv, slims_line

    bad = tmp_path / "slims.csv"
    bad.write_bytes(slims_csv(slims_line(), slims_line(publish_year="entah kapan")))
    result = runner("catalogue", "import", bad)
    assert result.exit_code == 1
    assert "baris 3" in result.output and "entah kapan" in result.output
    assert "Traceback" not in result.output
    as_json = json.loads(runner("catalogue", "import", bad, "--json").stdout)
    assert as_json["problems"][0]["line"] == 3 and as_json["problems"][0]["code"] == "bad-year"
    assert "is not a year" in as_json["problems"][0]["message_en"]
    assert json.loads(runner("list", "--json").stdout) == []


def test_catalogue_labels_and_export_of_missing_numbers_are_clear_errors(runner, tmp_path):
    runner("init")
    labels = runner("catalogue", "labels", "42", "--out", tmp_path / "x.pdf")
    assert labels.exit_code != 0 and "42" in labels.output and "Traceback" not in labels.output
    assert not (tmp_path / "x.pdf").exists()
    export = runner("catalogue", "export", "42")
    assert export.exit_code != 0 and "42" in export.output


# --- backup, restore, doctor ---------------------------------------------------------------------


def test_backup_and_restore_commands_round_trip_a_library(runner, tmp_path):
    make_pdf(tmp_path, title="Panduan Bertani")
    assert runner("import", tmp_path / "panduan-bertani.pdf").exit_code == 0
    made = runner("backup", tmp_path / "cadangan", "--keep", "2", "--json")
    assert made.exit_code == 0, made.output
    report = json.loads(made.stdout)
    assert report["records"] == 1 and report["files"] >= 1 and report["warnings"] == []
    plain = runner("backup", tmp_path / "cadangan")
    assert plain.exit_code == 0 and "1" in plain.output

    refused = runner("restore", tmp_path / "cadangan")  # into the data directory in use: not empty
    assert refused.exit_code == 1
    assert "tidak kosong" in refused.output and "Traceback" not in refused.output

    restored = runner("--data-dir", tmp_path / "pulih", "restore", tmp_path / "cadangan", "--json")
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout)["records"] == 1
    listed = json.loads(runner("--data-dir", tmp_path / "pulih", "list", "--json").stdout)
    assert [record["title"] for record in listed] == ["Panduan Bertani"]


def test_doctor_reports_in_plain_words_and_fails_on_missing_book_files(runner, tmp_path):
    make_pdf(tmp_path, title="Sejarah Desa")
    runner("import", tmp_path / "sejarah-desa.pdf")
    healthy = runner("doctor")
    assert healthy.exit_code == 0, healthy.output
    assert "[ OK ]" in healthy.output and "Traceback" not in healthy.output
    findings = json.loads(runner("doctor", "--json").stdout)
    checks = {finding["check"] for finding in findings}
    assert {"config", "permissions", "disk", "database", "files", "clock", "upstream"} <= checks
    upstream = next(finding for finding in findings if finding["check"] == "upstream")
    assert upstream["status"] in ("skipped", "ok", "warning")

    for book in (tmp_path / "data" / "files").rglob("*.pdf"):
        book.unlink()
    broken = runner("doctor")
    assert broken.exit_code == 1
    assert "[ XX ]" in broken.output
    assert "Restore the latest backup" in broken.output  # the advice, in English after Indonesian
