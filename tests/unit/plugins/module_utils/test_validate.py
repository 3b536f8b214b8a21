"""validate: what a message calls a value."""

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
