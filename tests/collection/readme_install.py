"""The "From a built collection" commands of docs/install.md, as the secure scenario runs them.

The scenario's create step runs every command but the last (`readme_install.py HOME`): the
artifacts are built, copied into ~/limen (under HOME) and installed offline there. Molecule then
converges the lab with limen.monitoring.monitoring from that directory alone, and
tests/integration/test_secure.py runs the whole block once more, last command included. So the
documentation cannot say one thing while the test does another.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "install.md"
SECTION = "From a built collection, offline"
# The documented example inventory, replaced by the lab's and the scenario's.
EXAMPLE_INVENTORY = "-i inventories/prod"


def commands():
    """The shell commands of the documented block, comments and blank lines left out."""
    readme = DOC.read_text()
    start = readme.index(SECTION)
    block = re.search(r"```sh\n(.*?)```", readme[start:], re.S)
    assert block, f"no ```sh block after {SECTION!r} in {DOC}"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def operator_dir(home):
    """Where the documented commands install the collection (its `cd ~/...`)."""
    (cd,) = [c for c in commands() if c.startswith("cd ~/")]
    return Path(home) / cd.removeprefix("cd ~/")


def run(home, inventories, last=True):
    """Run the block in bash from the checkout with HOME=HOME and no ANSIBLE_* of the caller
    (but ANSIBLE_CONFIG, the operator's own ansible.cfg, when set). Returns the process."""
    script = commands() if last else commands()[:-1]
    script = [c.replace(EXAMPLE_INVENTORY, " ".join(f"-i {i}" for i in inventories)) for c in script]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") or k == "ANSIBLE_CONFIG"}
    env.update(HOME=str(home), ANSIBLE_NOCOLOR="1")
    return subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(script)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1200)


if __name__ == "__main__":
    home = Path(sys.argv[1])
    r = run(home, [], last=False)
    sys.stdout.write(r.stdout + r.stderr)
    sys.exit(r.returncode)
