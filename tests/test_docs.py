"""The documentation keeps up with the code.

Like datasette's documentation tests: README.md must document every setting (with its
default), every command and option, and every dependency in setup.cfg, and
deploy/ebookserver.toml must be the generated example configuration. Something added
without documenting it fails here, and the message says what to add where.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ebookserver.cli import main
from ebookserver.settings import SETTINGS, example_config

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLE_CONFIG = ROOT / "deploy" / "ebookserver.toml"
SETUP_CFG = ROOT / "setup.cfg"
_TABLE_ROW = re.compile(r"^\|\s*`(?P<name>[a-z_]+)`\s*\|\s*`(?P<default>[^`]*)`\s*\|\s*(?P<meaning>.*?)\s*\|\s*$")


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def section(readme: str, heading: str) -> str:
    """The text under the first heading that starts with *heading*, up to the next heading."""
    match = re.search(rf"^#+ {re.escape(heading)}.*?$(?P<body>.*?)(?=^#+ |\Z)", readme, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no heading starting with {heading!r}"
    return match.group(0)


def settings_rows(readme: str) -> dict[str, tuple[str, str]]:
    """`name -> (default, meaning)` from the Configuration section's table."""
    rows = {}
    for line in section(readme, "Configuration").splitlines():
        if match := _TABLE_ROW.match(line):
            rows[match["name"]] = (match["default"], match["meaning"])
    return rows


def expected_row(setting) -> str:
    return f"| `{setting.name}` | `{setting.default}` | {setting.help} |"


def test_every_setting_is_in_the_configuration_table_with_its_default(readme):
    rows = settings_rows(readme)
    wrong = [
        expected_row(setting) for setting in SETTINGS if rows.get(setting.name) != (str(setting.default), setting.help)
    ]
    assert not wrong, (
        "README.md's Configuration table lacks these settings or has a different default or meaning; "
        "the rows should read:\n" + "\n".join(wrong)
    )


def test_the_configuration_table_names_no_setting_that_does_not_exist(readme):
    declared = {setting.name for setting in SETTINGS}
    unknown = sorted(set(settings_rows(readme)) - declared)
    assert not unknown, f"README.md's Configuration table documents settings that SETTINGS lacks: {unknown}"


def long_options(command: click.Command) -> list[str]:
    return [
        name
        for parameter in command.params
        if isinstance(parameter, click.Option)
        for name in parameter.opts
        if name.startswith("--")
    ]


def test_every_global_option_is_documented(readme):
    documented = section(readme, "Global options")
    missing = [option for option in long_options(main) if option not in documented]
    assert not missing, f"README.md's 'Global options' section does not mention: {missing}"


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_and_its_options_are_documented(readme, name):
    heading = f"### `ebookserver {name}"
    assert re.search(rf"^{re.escape(heading)}[ `]", readme, re.MULTILINE), (
        f"README.md has no section for the command `ebookserver {name}`; "
        f"add a heading like '{heading} ARGS [OPTIONS]`' under 'Command line'"
    )
    documented = section(readme, f"`ebookserver {name}")
    missing = [option for option in long_options(main.commands[name]) if option not in documented]
    assert not missing, f"README.md's section on `ebookserver {name}` does not mention its options {missing}"


def test_example_config_is_the_generated_one():
    result = CliRunner().invoke(main, ["config", "--example"])
    assert result.exit_code == 0, result.output
    assert result.output == example_config() + "\n"
    assert EXAMPLE_CONFIG.is_file(), f"{EXAMPLE_CONFIG} is missing"
    assert EXAMPLE_CONFIG.read_text(encoding="utf-8") == result.output, (
        f"{EXAMPLE_CONFIG.relative_to(ROOT)} is out of date with ebookserver/settings.py; regenerate it with "
        "`ebookserver config --example > deploy/ebookserver.toml`"
    )


def declared_dependencies() -> set[str]:
    """Distribution names in setup.cfg's install_requires and every extra, lower-cased."""
    setup = configparser.ConfigParser(interpolation=None)
    setup.read(SETUP_CFG, encoding="utf-8")
    lines = setup["options"]["install_requires"].splitlines()
    for extra in setup["options.extras_require"].values():
        lines += extra.splitlines()
    return {re.match(r"[A-Za-z0-9_.-]+", line.strip())[0].lower() for line in lines if line.strip()}


def test_dependencies_section_matches_setup_cfg(readme):
    documented = {
        name.lower() for name in re.findall(r"^- \*\*([A-Za-z0-9_.-]+)\*\*", section(readme, "Dependencies"), re.M)
    }
    declared = declared_dependencies()
    assert not declared - documented, (
        f"README.md's Dependencies section does not say why these are needed: {sorted(declared - documented)}"
    )
    assert not documented - declared, (
        f"README.md's Dependencies section lists packages setup.cfg no longer declares: {sorted(documented - declared)}"
    )


@pytest.mark.parametrize("command", ["./dev serve", "./dev test"])
def test_readme_gives_the_set_up_commands(readme, command):
    assert re.search(rf"^{re.escape(command)}\b", readme, re.MULTILINE), (
        f"README.md does not show the set-up command `{command}` on a line of its own"
    )


@pytest.mark.parametrize("script", ["dev", ".ci/run"])
def test_set_up_scripts_exist_and_are_executable(script):
    path = ROOT / script
    assert path.is_file(), f"{script} is missing"
    assert os.access(path, os.X_OK), f"{script} is not executable (chmod +x {script})"
