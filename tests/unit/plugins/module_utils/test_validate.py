"""Bad input, second round: one case (at least) per finding, each run for real.

Hangs are caught by a timeout (a FIFO or /dev/zero that is opened blocks or never ends);
tracebacks by run_module, which fails on one; "nothing changed" by a digest of the whole
tree (names, modes, symlink targets, bytes), hidden files included.
"""

from __future__ import annotations

import pytest

from ansible_collections.limen.monitoring.plugins.module_utils import validate


# ---- messages ----
def test_a_url_is_not_called_ambiguous_ipv6():
    with pytest.raises(validate.ValidationError, match="'http://h:1' is a URL, not 'host:port'"):
        validate.address("http://h:1")
    with pytest.raises(validate.ValidationError, match="the host part 'h:x' holds a ':'"):
        validate.address("h:x:1")
    with pytest.raises(validate.ValidationError, match=r"write \[fd00::1\]:9100"):
        validate.address("fd00::1:9100")
