"""requirements.lock pins every dependency of setup.cfg, with hashes (see `make lock`)."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def declared():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    lines = setup["options"]["install_requires"].splitlines()
    lines += setup["options.extras_require"]["test"].splitlines()
    return {normalise(NAME.match(line).group(1)) for line in lines if line.strip()}


def locked():
    """Return {name: (version, number of hashes)} of the lock file."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(.*)$", line)
        if match:
            pins[normalise(match.group(1))] = (
                match.group(2),
                match.group(3).count("--hash=sha256:"),
            )
    return pins


def test_every_dependency_of_setup_cfg_is_locked_with_hashes():
    pins = locked()
    assert declared() - pins.keys() == set(), "run `make lock` after changing setup.cfg"
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_the_lock_names_no_index_of_this_machine():
    text = (ROOT / "requirements.lock").read_text()
    assert "file://" not in text and "--find-links" not in text and "-e " not in text
