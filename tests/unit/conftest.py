"""Shared set-up of the unit tests.

The tests mirror the code they test (plugins/modules/test_files.py tests plugins/modules/files.py),
so two test files may share a basename (plugins/modules/test_switch_silence.py and
plugins/module_utils/test_switch_silence.py): every directory here is a package (__init__.py),
which gives each test module a distinct name under pytest's default import mode.
The helpers the tests share (module_runner, file_states, dashboard_helpers, topology_inputs)
live in helpers/, put on sys.path here so any test imports them by their plain name.
"""

from __future__ import annotations

import sys
from pathlib import Path

HELPERS = str(Path(__file__).resolve().parent / "helpers")
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)
