# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""One grafana.ini value as Grafana's INI reader reads it back unchanged (PRIVATE to the collection).

Unquoted, Grafana's reader ends a value at `#` or `;` (an inline comment) and trims spaces: a
password holding them was cut short. Such values are written inside triple quotes, which
that reader takes literally; a value it cannot hold (a newline, three double quotes) is refused.
"""

from __future__ import annotations

import re

_NEEDS_QUOTES = re.compile(r"[#;\"'`\\]|^\s|\s$")


class IniValueError(ValueError):
    """The message names the setting, never the value."""


def ini_value(value, where):
    """VALUE (str, int, bool) as it goes after `key = ` in grafana.ini; WHERE names the setting."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    if "\n" in text or "\r" in text:
        raise IniValueError(f"{where}: a grafana.ini value cannot hold a line break")
    if not _NEEDS_QUOTES.search(text):
        return text
    if '"""' in text or text.endswith('"'):
        raise IniValueError(f"{where}: a grafana.ini value holding {{#;'`\\}} or outer spaces is written in "
                            '""" quotes, so it cannot contain """ or end with "')
    return f'"""{text}"""'
