# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Attributes every module of this collection has: full check mode, diff and idempotence."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Reports what would change without changing anything.
  diff_mode:
    support: full
    description: Shows what changes (never a secret).
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
"""
