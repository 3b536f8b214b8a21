"""The changelog cannot miss a plugin or a role: every module, filter and public role of the
collection is named in changelogs/changelog.yaml (released) or in a fragment (unreleased)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CHANGELOGS = REPO / "changelogs"


def changelog_text() -> str:
    texts = [(CHANGELOGS / "changelog.yaml").read_text()]
    texts += [f.read_text() for f in sorted((CHANGELOGS / "fragments").glob("*.yml"))]
    return "\n".join(texts)


def filter_names() -> set[str]:
    """The keys of every FilterModule.filters() dict under plugins/filter."""
    names = set()
    for path in (REPO / "plugins" / "filter").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                        names |= {k.value for k in ret.value.keys if isinstance(k, ast.Constant)}
    return names


def collection_objects() -> dict[str, set[str]]:
    return {
        "module": {p.stem for p in (REPO / "plugins" / "modules").glob("*.py")},
        "filter": filter_names(),
        "role": {p.name for p in (REPO / "roles").iterdir() if p.is_dir() and not p.name.startswith("_")},
    }


def test_every_module_filter_and_role_is_in_the_changelog():
    text = changelog_text()
    missing = [f"{kind} {name}" for kind, names in collection_objects().items() for name in sorted(names)
               if not re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text)]
    assert not missing, f"add a fragment under changelogs/fragments/ naming: {', '.join(missing)}"


def test_the_collection_has_what_the_check_looks_for():
    """Guards the test above against an empty walk (a moved directory would pass it vacuously)."""
    objects = collection_objects()
    assert {"prometheus_targets", "files"} <= objects["module"]
    assert {"topology", "stable_bcrypt"} <= objects["filter"]
    assert {"prometheus", "topology"} <= objects["role"]
