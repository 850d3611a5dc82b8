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
