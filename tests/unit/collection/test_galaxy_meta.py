"""What the collection claims is what `make test` tests: the ansible-core range in
meta/runtime.yml is the two releases the Makefile runs the unit tests and sanity under, and
every role claims exactly the Debian releases the lab builds."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]


def makefile_var(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(\S+)", (REPO / "Makefile").read_text(), re.M)
    assert match, f"Makefile sets no {name}"
    return match.group(1)


def test_requires_ansible_is_the_tested_range():
    oldest, newest = makefile_var("CORE_OLDEST"), makefile_var("CORE_NEWEST")
    major, minor = newest.split(".")[:2]
    claim = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["requires_ansible"]
    assert claim == f">={oldest},<{major}.{int(minor) + 1}.0"


def test_roles_claim_the_tested_platforms():
    lab = (REPO / "lab" / "lab.py").read_text()
    suites = re.search(r'"--suite".*?choices=\[([^\]]*)\]', lab, re.S).group(1)
    tested = sorted(re.findall(r'"(\w+)"', suites))
    oldest = ".".join(makefile_var("CORE_OLDEST").split(".")[:2])
    for meta in sorted(REPO.glob("roles/*/meta/main.yml")):
        info = yaml.safe_load(meta.read_text())["galaxy_info"]
        assert info["platforms"] == [{"name": "Debian", "versions": tested}], meta
        assert info["min_ansible_version"] == oldest, meta
    assert len(list(REPO.glob("roles/*/meta/main.yml"))) == len([p for p in REPO.glob("roles/*") if p.is_dir()])


def test_galaxy_metadata():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert (REPO / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert galaxy["license"] == ["Apache-2.0"]
    base = galaxy["repository"].rstrip("/")
    for key in ("documentation", "homepage", "issues"):
        assert galaxy[key].startswith(base), f"galaxy.yml {key} is not under the repository {base}"
    for author in galaxy["authors"]:
        assert re.fullmatch(r"[^<>()]+( <[^@\s]+@[^>\s]+>)?( \(https?://\S+\))?", author), author
