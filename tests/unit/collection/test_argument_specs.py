"""Every role's meta/argument_specs.yml agrees with its defaults/main.yml: the same public
variables, the same defaults, types that fit the defaults, and dict options that match the
dict's default key by key. Roles are discovered, nothing is listed by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parents[3] / "roles").iterdir() if p.is_dir())
TYPES = {"str": str, "path": str, "int": int, "bool": bool, "float": (int, float),
         "list": list, "dict": dict, "raw": object}


def load(path: Path):
    return yaml.safe_load(path.read_text()) if path.exists() else None


def options(role: Path) -> dict:
    """Options of every entry point, merged (defaults apply to all of them)."""
    specs = (load(role / "meta" / "argument_specs.yml") or {}).get("argument_specs") or {}
    merged: dict = {}
    for entry in specs.values():
        merged.update(entry.get("options") or {})
    return merged


def check_type(where: str, spec: dict, value) -> list[str]:
    if isinstance(value, str) and "{{" in value:
        return []                                   # a template: its type shows at run time
    expected = TYPES.get(spec.get("type", "str"))
    if value is None or expected is None or isinstance(value, expected) and not (
            expected is int and isinstance(value, bool)):
        problems = []
    else:
        return [f"{where}: default {value!r} is not of type {spec.get('type', 'str')}"]
    if value is not None and "choices" in spec and value not in spec["choices"]:
        problems.append(f"{where}: default {value!r} is not one of {spec['choices']}")
    if isinstance(value, list) and spec.get("elements") in TYPES:
        element = TYPES[spec["elements"]]
        problems += [f"{where}[{i}]: {v!r} is not of type {spec['elements']}"
                     for i, v in enumerate(value) if not (isinstance(v, str) and "{{" in v)
                     and not isinstance(v, element)]
    return problems


def compare(where: str, spec: dict, value) -> list[str]:
    """Problems between one declared option and its default value (recursive for dicts)."""
    problems = []
    if spec.get("required"):
        return [f"{where}: required, but has a default (so a missing value is never reported)"]
    if "default" not in spec and not spec.get("options") and value not in (None, "", [], {}):
        problems.append(f"{where}: spec declares no default, defaults/main.yml says {value!r}")
    if "default" in spec and spec["default"] != value:
        problems.append(f"{where}: spec default {spec['default']!r} != defaults/main.yml {value!r}")
    problems += check_type(where, spec, value)
    sub = spec.get("options")
    if sub and isinstance(value, dict):
        problems += [f"{where}.{k}: in the default but not declared in options" for k in value if k not in sub]
        for name, subspec in sub.items():
            if name in value:
                problems += compare(f"{where}.{name}", {k: v for k, v in subspec.items() if k != "required"},
                                    value[name])
            elif subspec.get("default") is not None:
                problems.append(f"{where}.{name}: options default {subspec['default']!r}, absent from the default")
    return problems


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_spec_matches_defaults(role):
    defaults = load(role / "defaults" / "main.yml") or {}
    spec = options(role)
    assert (role / "meta" / "argument_specs.yml").exists(), f"{role.name}: no meta/argument_specs.yml"
    public = {k: v for k, v in defaults.items() if not k.startswith("__")}
    problems = [f"{k}: in defaults/main.yml, not in meta/argument_specs.yml" for k in public if k not in spec]
    for name, option in spec.items():
        assert option.get("description"), f"{role.name}: {name} has no description"
        assert "type" in option, f"{role.name}: {name} has no type"
        if name in public:
            problems += compare(name, option, public[name])
        elif not option.get("required"):
            problems.append(f"{name}: declared in the spec, no default in defaults/main.yml")
    assert not problems, f"{role.name}:\n  " + "\n  ".join(problems)


def test_checker_catches_disagreement():
    """The comparison itself fails on the mistakes it exists for."""
    assert compare("x", {"type": "int", "default": 1}, 2)
    assert compare("x", {"type": "int", "default": "1"}, "1")
    assert compare("x", {"type": "dict", "default": {"a": 1}, "options": {"a": {"type": "int", "default": 2}}}, {"a": 1})
    assert compare("x", {"type": "dict", "default": {"a": 1, "b": 2}, "options": {"a": {"type": "int", "default": 1}}},
                   {"a": 1, "b": 2})
    assert compare("x", {"type": "str", "required": True}, "")
    assert compare("x", {"type": "str", "choices": ["a"], "default": "b"}, "b")
    assert not compare("x", {"type": "list", "elements": "str", "default": ["{{ y }}"]}, ["{{ y }}"])
