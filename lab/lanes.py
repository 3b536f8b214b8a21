#!/usr/bin/env python3
"""Run molecule scenarios side by side, in lanes: each lane its own lab and its own checkout copy.

  lanes.py [--lanes N] SCENARIO ...

A scenario spends most of its time waiting (for scrapes, alerts, restarts), so two labs on two
cores take little more than the longer lane. Each lane gets a copy of this checkout under
.cache/lanes/ (the lab writes inventories/lab/hosts.yml and keeps its CA per inventory, so two
labs cannot share one), sharing the venv and the downloaded tools by symbolic links, a lab
name of its own (laneN) and a /20 of LIMEN_LAB_SUBNET (default 10.210.0.0/16). Scenarios are
dealt longest first to the lane with the least work. One lane (or one scenario) runs in place,
with the caller's LIMEN_LAB_NAME and LIMEN_LAB_SUBNET, as `molecule test -s` would.

In lanes, each scenario's output goes to .cache/lanes/SCENARIO.log and a failed one's log is
printed at the end, and after the summary the lines that say why (CI shows a run's end);
in place, it streams. Every lane's lab is brought down at the end, after a failure or an interrupt too. Exit
status: 0 when every scenario passed.
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LANES = REPO / ".cache" / "lanes"
# Minutes each took in a two-lane run of the whole suite (a fresh clone's .ci/run); they only
# order the dealing: secure, ha, mitogen in one lane; default, bookworm, grafana, install in the other.
WEIGHT = {"secure": 19, "default": 13, "default_bookworm": 10, "ha": 10, "grafana_install": 5,
          "install_methods": 4, "default_mitogen": 3}
# Shared with the copies (read only during a run); everything else in .cache stays per copy.
SHARED_CACHE = ("tools", "tools-trixie", "wheels", "mitogen-strategy")
COPY_IGNORE = shutil.ignore_patterns(".cache", ".venv", "node_modules", "__pycache__")
_OUTPUT = threading.Lock()


def say(line):
    """One whole line at a time: the lanes report from their own threads."""
    with _OUTPUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def deal(scenarios, lanes):
    """SCENARIOS split into at most LANES lists, longest first to the least loaded lane."""
    plan = [[] for _ in range(min(lanes, len(scenarios)))]
    for name in sorted(scenarios, key=lambda s: -WEIGHT.get(s, 5)):
        min(plan, key=lambda lane: sum(WEIGHT.get(s, 5) for s in lane)).append(name)
    return plan


def lane_subnets(subnet, count):
    """COUNT /20 networks of SUBNET for the lanes (the first /20 is left to a lab of the default name)."""
    net = ipaddress.ip_network(subnet)
    pieces = list(net.subnets(new_prefix=20)) if net.prefixlen <= 20 else []
    if len(pieces) < count + 1:
        raise SystemExit(f"LIMEN_LAB_SUBNET={subnet}: too small for {count} lanes of a /20 each")
    return [str(p) for p in pieces[1:count + 1]]


# What says why a scenario failed: pytest's verdicts and assertion lines (from the report that
# molecule/shared/verify.yml keeps, LIMEN_PYTEST_REPORT), and Ansible's failures from the log.
PYTEST_WHY = re.compile(r"^(FAILED |ERROR |E  )")
ANSIBLE_WHY = re.compile(r"(fatal: \[|\[ERROR\]: |Executed: Failed)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def why_failed(log, report="", limit=40):
    """The lines that say why a scenario failed, the last LIMIT of them (CI shows a run's end)."""
    lines = [line[:400] for line in report.splitlines() if PYTEST_WHY.match(line)]
    for raw in ANSI.sub("", log).splitlines():
        line = raw.strip(" \u2502")
        if ANSIBLE_WHY.search(line):
            lines.append(line[:400])
    return lines[-limit:]


def make_copy(name):
    """A copy of the checkout for lane NAME, sharing the venv and the downloaded tools."""
    dest = LANES / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(REPO, dest, symlinks=True, ignore=COPY_IGNORE)
    (dest / ".venv").symlink_to(REPO / ".venv")
    (dest / ".cache").mkdir()
    for entry in SHARED_CACHE:
        if (REPO / ".cache" / entry).exists():
            (dest / ".cache" / entry).symlink_to(REPO / ".cache" / entry)
    # The collection link inside is relative, so in the copy it names the copy.
    shutil.copytree(REPO / ".cache" / "collections", dest / ".cache" / "collections", symlinks=True)
    return dest


class Lane:
    def __init__(self, name, scenarios, where, env):
        self.name, self.scenarios, self.where, self.env = name, scenarios, where, env
        self.results = []          # (scenario, rc, seconds)
        self.proc = None
        self.stopped = False

    def run(self):
        for scenario in self.scenarios:
            if self.stopped:
                break
            started = time.monotonic()
            say(f"[{self.name}] {scenario}: started")
            # In place (one lane) the output streams as molecule's own; a lane writes a log.
            with open(LANES / f"{scenario}.log", "w") if self.where != REPO else open(os.devnull) as out:
                report = LANES / f"{scenario}.pytest.txt"
                report.unlink(missing_ok=True)
                self.proc = subprocess.Popen(["molecule", "test", "-s", scenario], cwd=self.where,
                                             env=dict(self.env, LIMEN_PYTEST_REPORT=str(report)),
                                             stdout=None if self.where == REPO else out,
                                             stderr=None if self.where == REPO else subprocess.STDOUT,
                                             start_new_session=True)
                rc = self.proc.wait()
            seconds = time.monotonic() - started
            self.results.append((scenario, rc, seconds))
            say(f"[{self.name}] {scenario}: {'passed' if rc == 0 else f'FAILED (exit {rc})'} in {seconds:.0f} s")

    def stop(self):
        self.stopped = True
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def down(self):
        subprocess.run([sys.executable, str(REPO / "lab" / "lab.py"), "down"], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, check=False)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=int(os.environ.get("LIMEN_LANES", "2")))
    parser.add_argument("scenarios", nargs="+")
    args = parser.parse_args(argv)
    LANES.mkdir(parents=True, exist_ok=True)
    plan = deal(args.scenarios, max(args.lanes, 1))
    env = dict(os.environ)
    if len(plan) > 1:
        # The lane labs' names are the machine's, not the checkout's: a second run of lanes (from
        # another checkout) would bring this one's labs down at its end. One at a time.
        state = Path(env.get("LIMEN_LAB_STATE", "/var/lib/limen-lab"))
        state.mkdir(parents=True, exist_ok=True)
        lock = open(state / "lanes.lock", "w")  # noqa: SIM115 (held until the process exits)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another run of lab/lanes.py holds {state / 'lanes.lock'}: its labs are "
                             "lane1, lane2, ...; wait for it, or run one scenario in place (LIMEN_LANES=1)") from None
    if len(plan) == 1:
        lanes = [Lane(env.get("LIMEN_LAB_NAME", "limen"), plan[0], REPO, env)]
    else:
        subnets = lane_subnets(env.get("LIMEN_LAB_SUBNET", "10.210.0.0/16"), len(plan))
        lanes = []
        for number, (scenarios, subnet) in enumerate(zip(plan, subnets, strict=True), start=1):
            name = f"lane{number}"
            where = make_copy(name)
            lanes.append(Lane(name, scenarios, where, dict(
                env, LIMEN_LAB_NAME=name, LIMEN_LAB_SUBNET=subnet, ANSIBLE_CONFIG=str(where / "ansible.cfg"))))
    for lane in lanes:
        print(f"[{lane.name}] {' '.join(lane.scenarios)}", flush=True)

    def interrupted(signum, _frame):
        for lane in lanes:
            lane.stop()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    threads = [threading.Thread(target=lane.run, daemon=True) for lane in lanes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(1)
    finally:
        for lane in lanes:
            lane.stop()
            lane.down()
            if lane.where != REPO:
                shutil.rmtree(lane.where, ignore_errors=True)
    results = [r for lane in lanes for r in lane.results]
    failed = [name for name, rc, _ in results if rc != 0]
    for name in failed if len(lanes) > 1 else []:
        print(f"\n===== {name}: log ({LANES / (name + '.log')}) =====", flush=True)
        print((LANES / f"{name}.log").read_text(errors="replace"), flush=True)
    print("\nscenario              result   seconds")
    for name, rc, seconds in results:
        print(f"{name:<21} {'passed' if rc == 0 else 'FAILED':<8} {seconds:7.0f}")
    for name in failed if len(lanes) > 1 else []:
        report = LANES / f"{name}.pytest.txt"
        why = why_failed((LANES / f"{name}.log").read_text(errors="replace"),
                         report.read_text(errors="replace") if report.is_file() else "")
        print(f"\n{name}, why (the full log is above):", *why, sep="\n  ")
    missing = [s for s in args.scenarios if s not in {r[0] for r in results}]
    if missing:
        print(f"not run: {' '.join(missing)}")
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
