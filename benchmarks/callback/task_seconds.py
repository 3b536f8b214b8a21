"""Callback for the benchmarks: each task's seconds, written as JSON lines to the file that
LIMEN_TASK_SECONDS names (the play's own output stays as it is)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_seconds"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._started, self._task = time.monotonic(), "(start: the inventory and the play)"

    def _close(self, following):
        now = time.monotonic()
        with open(os.environ["LIMEN_TASK_SECONDS"], "a", encoding="utf-8") as out:
            out.write(json.dumps({"task": self._task, "seconds": round(now - self._started, 3)}) + "\n")
        self._started, self._task = now, following

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close(task.get_name())

    def v2_playbook_on_stats(self, stats):
        self._close(None)
