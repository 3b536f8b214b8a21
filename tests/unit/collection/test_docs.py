"""The README is the operator's front page; details live in docs/. Every link and every
mention of a docs/ file resolves, every docs/ file is reachable from the README, and the
front page stays short with the two commands first."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LINK = re.compile(r"\]\(([^)\s]+)\)")
MENTION = re.compile(r"(?<![\w/.-])docs/[A-Za-z0-9_-]+\.md")
FRONT_PAGE_LINES = 250


def markdown_files():
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "roles").glob("*/README.md"))]


def tracked_text_files():
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in out.splitlines():
        path = REPO / name
        if path.suffix in {".md", ".py", ".yml", ".j2", ".cfg", ".toml"} or path.name == "Makefile":
            yield path


def test_every_relative_link_resolves():
    broken = []
    for md in markdown_files():
        for target in LINK.findall(md.read_text()):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            if not (md.parent / target.split("#")[0]).exists():
                broken.append(f"{md.relative_to(REPO)}: {target}")
    assert not broken, broken


def test_every_mention_of_a_docs_file_names_one_that_exists():
    missing = [f"{path.relative_to(REPO)}: {m}" for path in tracked_text_files() if path.is_file()
               for m in MENTION.findall(path.read_text(errors="replace")) if not (REPO / m).exists()]
    assert not missing, missing


def test_every_docs_file_is_linked_from_the_readme():
    readme = (REPO / "README.md").read_text()
    docs = sorted(p.name for p in (REPO / "docs").glob("*.md"))
    assert docs, "no docs/*.md: the walk above would pass vacuously"
    assert [d for d in docs if f"](docs/{d})" not in readme] == []


def test_the_front_page_is_short_with_the_two_commands_first():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= FRONT_PAGE_LINES, "move details into docs/ and link them"
    sections = re.findall(r"^## (.*)$", readme, re.M)
    assert sections[0] == "The two commands", sections
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.startswith("make demo") and "\nmake test" in first_block, first_block
