"""grafana.ini values: what Grafana's INI reader would cut short is quoted; what it cannot hold is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.limen.monitoring.plugins.plugin_utils.ini_value import IniValueError, ini_value


@pytest.mark.parametrize("value, text", [
    (True, "true"), (False, "false"), (3000, "3000"), ("plain-value", "plain-value"),
    ("pa#ss;word", '"""pa#ss;word"""'), ("it's", '"""it\'s"""'), (" lead", '""" lead"""'),
    ('a"b', '"""a"b"""'), ("back\\slash", '"""back\\slash"""'),
])
def test_values(value, text):
    assert ini_value(value, "security.admin_password") == text


@pytest.mark.parametrize("value", ["two\nlines", 'has """ inside #', 'ends with quote#"'])
def test_values_grafana_cannot_hold_are_refused_naming_the_setting(value):
    with pytest.raises(IniValueError, match=r"^security\.admin_password: ") as exc:
        ini_value(value, "security.admin_password")
    assert value not in str(exc.value)


def _read_back(text):
    """What Grafana's reader (go-ini) makes of `key = TEXT`: triple quotes literal, else cut at # or ;."""
    if text.startswith('"""') and text.endswith('"""') and len(text) >= 6:
        return text[3:-3]
    for mark in ("#", ";"):
        text = text.split(mark, 1)[0]
    return text.strip()


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_every_accepted_value_reads_back_unchanged(value):
    try:
        text = ini_value(value, "s.k")
    except IniValueError:
        return
    assert _read_back(text) == value
