"""The exposition parser: reads back what it renders and fails only with an ExpositionError naming the line."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.module_utils import exposition
from ansible_collections.limen.monitoring.plugins.module_utils.exposition import ExpositionError, parse

FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("text, where", [
    ("metric{a=\"1\" 3\n", "line 1"),
    ("ok 1\n9bad 1\n", "line 2"),
    ("m{a=\"\\x\"} 1\n", "line 1"),
    ("m one\n", "line 1"),
    ("# TYPE m sometype\n", "line 1"),
    ("m 1\n# TYPE m gauge\n", "line 2"),
])
def test_bad_exposition_names_the_line(text, where):
    with pytest.raises(ExpositionError, match=where):
        parse(text)


# --- Hypothesis: whatever a service may export, parse(render(x)) is x.
names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,10}", fullmatch=True)
label_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
values = st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def families(draw):
    out = {}
    for name in draw(st.lists(names, min_size=1, max_size=5, unique=True)):
        # a name that is another family's suffixed sample would belong to that family
        if any(name != other and name.startswith(other) for other in out) or any(o.startswith(name) for o in out):
            continue
        kind = draw(st.sampled_from(["counter", "gauge", "untyped"]))
        samples = [(name, draw(st.dictionaries(label_names, label_values, max_size=3)), draw(values))
                   for _ in range(draw(st.integers(1 if kind == "untyped" else 0, 3)))]
        out[name] = {"type": kind, "help": draw(st.from_regex(r"[A-Za-z0-9 ]{0,20}", fullmatch=True)).strip(),
                     "samples": samples}
    return out


def same(a, b):
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


@FAST
@given(families())
def test_parse_reads_back_what_render_writes(fams):
    back = parse(exposition.render(fams))
    assert set(back) == set(fams)
    for name, entry in fams.items():
        assert back[name]["type"] == entry["type"]
        assert [(s, lab) for s, lab, _v in back[name]["samples"]] == [(s, lab) for s, lab, _v in entry["samples"]]
        assert all(same(v1, v2) for (_a, _b, v1), (_c, _d, v2) in zip(back[name]["samples"], entry["samples"], strict=True))


@FAST
@given(st.text(max_size=200))
def test_parse_never_fails_but_with_an_exposition_error(text):
    try:
        parse(text)
    except ExpositionError as exc:
        assert str(exc).startswith("line ")
