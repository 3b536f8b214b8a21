#!/usr/bin/env python3
"""Benchmark (not a test): where the controller's time goes with a large inventory. No lab.

For each size N (default 0 2000 5000 10000), an inventory of the lab's hosts plus N service
hosts (one endpoint each, as benchmarks/inventory_scale.py makes them) is run through the part
of site.yml that works on the controller alone: the topology and every role's argument check
(site.yml's tasks tagged `always`, facts not gathered, no host contacted). It prints the
run's seconds, the controller's peak memory, the slowest tasks, and a profile of reading every
host's variables the way the topology does (hostvars[host]), in-process, largest size only.

Usage: .venv/bin/python benchmarks/controller_profile.py [N ...]
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import venv_tools  # beside this script: puts the venv's tools on PATH

venv_tools.put_on_path()
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "lab"))
import inventory_scale  # noqa: E402

import lab  # noqa: E402


def inventories(directory, sizes):
    """The lab's inventory (written as lab.py up would, no lab started) and one per size."""
    base = directory / "lab"
    base.mkdir()
    lab.INVENTORY = base / "hosts.yml"
    lab.Lab("profile", "10.210.240.0/20", "trixie").write_inventory()
    (base / "group_vars").symlink_to(REPO / "inventories" / "lab" / "group_vars")
    inventory_scale.LAB = base
    made = {}
    for size in sizes:
        made[size] = directory / f"n{size}"
        made[size].mkdir()
        inventory_scale.big_inventory(made[size], size)
    return made


def controller_run(inventory, directory):
    """Seconds, peak memory (MiB) and per-task seconds of site.yml's controller-only part."""
    play = directory / "controller_only.yml"
    play.write_text((REPO / "playbooks" / "monitoring.yml").read_text()
                    .replace("  gather_facts: true\n", "  gather_facts: false\n", 1))
    tasks = directory / "tasks.jsonl"
    tasks.unlink(missing_ok=True)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".cache" / "collections"),
               ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback"), ANSIBLE_CALLBACKS_ENABLED="task_seconds",
               LIMEN_TASK_SECONDS=str(tasks))
    # Only the tasks tagged always run: the topology and the argument checks.
    argv = ["ansible-playbook", "-i", str(inventory), str(play), "--limit", "monitoring_servers",
            "--tags", "controller-profile-none", "-e", f"pki_secrets_dir={directory}/secrets",
            "-e", f"pki_dir={directory}/pki"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    r = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    if r.returncode:
        sys.exit(f"the controller-only run with {inventory} failed:\n{(r.stdout + r.stderr)[-3000:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    steps = [json.loads(line) for line in tasks.read_text().splitlines()]
    return took, peak, sorted(steps, key=lambda s: -s["seconds"])[:4]


def hostvars_profile(inventory):
    """Reading each service host's variables as the topology does, profiled in-process."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    start = time.monotonic()
    inv = InventoryManager(loader=loader, sources=[str(inventory)])
    manager = VariableManager(loader=loader, inventory=inv)
    loaded = time.monotonic() - start
    hostvars = HostVars(inventory=inv, variable_manager=manager, loader=loader)
    hosts = inv.get_groups_dict()["monitored_services"]
    profile = cProfile.Profile()
    start = time.monotonic()
    profile.enable()
    for host in hosts:
        hostvars[host].get("monitoring_endpoints")
    profile.disable()
    read = time.monotonic() - start
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(14)
    return loaded, read, len(hosts), text.getvalue()


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [0, 2000, 5000, 10000]
    with tempfile.TemporaryDirectory(prefix="controller-profile-") as tmp:
        made = inventories(Path(tmp), sizes)
        print(f"{'extra hosts':>11} {'run s':>7} {'peak MiB':>9}  slowest tasks (s)")
        for size, inventory in made.items():
            took, peak, slowest = controller_run(inventory, Path(tmp))
            print(f"{size:>11} {took:7.1f} {peak:9.0f}  "
                  + "; ".join(f"{s['task'].split(' : ')[-1][:48]} {s['seconds']:.1f}" for s in slowest))
        loaded, read, count, profile = hostvars_profile(made[max(sizes)])
        print(f"\nin-process, {count} service hosts: inventory loaded in {loaded:.1f} s, every host's "
              f"variables read in {read:.1f} s ({1000 * read / max(count, 1):.2f} ms per host)\n{profile}")


if __name__ == "__main__":
    main()
