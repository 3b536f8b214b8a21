"""The built collection (`ansible-galaxy collection build`) holds the collection only, installs
offline into an empty collections path, and works from there: ansible-doc of every module,
role and filter, a syntax check of its playbook and of every role, and real module and
filter runs on localhost. Nothing here can resolve limen.monitoring from the checkout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
# What a published collection contains; everything else is how this checkout is developed.
TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md",
             "meta", "roles", "plugins", "playbooks", "inventories", "tests", "changelogs", "docs"}
NEVER = re.compile(r"^(lab|molecule|benchmarks|collections|\.ci|\.cache|\.venv|\.ansible|node_modules)(/|$)"
                   r"|^(Makefile|ansible\.cfg|site\.yml|requirements\.txt|pyproject\.toml)$"
                   r"|^inventories/(?!example(/|$))|^tests/(?!sanity(/|$))"
                   r"|(^|/)__pycache__(/|$)|\.pyc$|\.tar\.gz$|(^|/)\.(pytest|ruff)_cache(/|$)")
SECRET_KEY = re.compile(r"password|secret|token|api_key|webhook", re.I)


def run(args, cwd, env, check=True):
    r = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                       check=False)
    if check:
        assert r.returncode == 0, f"{' '.join(args)}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(artifact, installed collection dir, environment that sees only the installed copy)."""
    tmp = tmp_path_factory.mktemp("artifact")
    cfg = tmp / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    installed = tmp / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(cfg), ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
               HOME=str(tmp))
    run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp / "out"), str(REPO)], tmp, env)
    (artifact,) = (tmp / "out").glob("limen-monitoring-*.tar.gz")
    # The dependency (community.crypto) as an operator would have it installed already:
    # offline, ansible-galaxy resolves it from the collections path.
    crypto = REPO / ".cache" / "collections" / "ansible_collections" / "community" / "crypto"
    shutil.copytree(crypto, installed / "ansible_collections" / "community" / "crypto", symlinks=True)
    run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(installed), str(artifact)], tmp, env)
    return artifact, installed / "ansible_collections" / "limen" / "monitoring", env, tmp


def test_file_list_is_the_collection_only(built):
    artifact = built[0]
    with tarfile.open(artifact) as tar:
        names = [m.name.removeprefix("./") for m in tar.getmembers()]
    assert {n.split("/")[0] for n in names} <= TOP_LEVEL, sorted({n.split("/")[0] for n in names} - TOP_LEVEL)
    assert not [n for n in names if NEVER.search(n)], [n for n in names if NEVER.search(n)]
    for must in ["README.md", "docs/security.md", "docs/install.md", "docs/runbooks/TargetDown.md", "LICENSE", "meta/runtime.yml", "playbooks/monitoring.yml"]:
        assert must in names
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())
    modules = sorted(p.name for p in (REPO / "plugins" / "modules").glob("*.py"))
    assert all(f"roles/{r}/meta/argument_specs.yml" in names for r in roles)
    assert all(f"plugins/modules/{m}" in names for m in modules)


def secrets(node):
    """String values of secret-looking keys (recursively) in a YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and SECRET_KEY.search(str(key)) and len(value) >= 8 and "{{" not in value:
                yield value
            yield from secrets(value)
    elif isinstance(node, list):
        for item in node:
            yield from secrets(item)


def test_no_lab_secret_in_the_artifact(built):
    artifact = built[0]
    lab = [s for f in sorted((REPO / "inventories" / "lab").rglob("*.yml"))
           for s in secrets(yaml.safe_load(f.read_text()))]
    assert lab, "the lab inventory holds lab passwords: the scan must have something to look for"
    with tarfile.open(artifact) as tar:
        for member in tar.getmembers():
            if member.isfile():
                text = tar.extractfile(member).read().decode("utf-8", "replace")
                leaked = [s for s in lab if s in text]
                assert not leaked, f"{member.name} contains a lab secret"


def test_ansible_doc_from_the_installed_copy(built):
    _, coll, env, tmp = built
    plugins = [("module", p.stem) for p in sorted((coll / "plugins" / "modules").glob("*.py"))]
    plugins += [("role", p.name) for p in sorted((coll / "roles").iterdir())]
    plugins += [("filter", p.stem) for p in sorted((coll / "plugins" / "filter").glob("*.yml"))]
    plugins += [("filter", "stable_bcrypt")]  # documented inside bcrypt.py
    for kind, name in plugins:
        r = run(["ansible-doc", "-t", kind, "--json", f"limen.monitoring.{name}"], tmp, env)
        doc = json.loads(r.stdout)[f"limen.monitoring.{name}"]
        assert doc, f"no documentation for {kind} {name}"
        if kind == "role":
            # An internal role (leading underscore) has no public variables to document.
            assert doc["entry_points"]["main"]["options"] or name.startswith("_"), f"role {name}: no options"
            assert str(coll) in doc["path"], doc["path"]
        else:
            assert str(coll) in doc["doc"]["filename"], doc["doc"]["filename"]


def test_syntax_check_of_the_installed_playbook_and_roles(built):
    _, coll, env, tmp = built
    inventory = coll / "inventories" / "example"
    run(["ansible-playbook", "--syntax-check", "-i", str(inventory), "limen.monitoring.monitoring"], tmp, env)
    roles = [{"name": f"Import {p.name}", "ansible.builtin.import_role": {"name": f"limen.monitoring.{p.name}"}}
             for p in sorted((coll / "roles").iterdir())]
    play = tmp / "roles.yml"
    play.write_text(json.dumps([{"name": "Every role", "hosts": "all", "gather_facts": False, "tasks": roles}]))
    run(["ansible-playbook", "--syntax-check", "-i", str(inventory), str(play)], tmp, env)


def test_modules_and_filters_run_from_the_installed_copy(built):
    _, coll, env, tmp = built
    out = tmp / "file_sd"
    hostvars = {"svc": {"ansible_host": "127.0.0.1", "monitoring_endpoints": [{"job": "api", "port": 8080}]}}
    defaults = {"servers_group": "monitoring_servers", "services_group": "monitored_services",
                "prometheus_port": 9090, "alertmanager_port": 9093, "alertmanager_cluster_port": 9094,
                "alertmanager_cluster_peers": [], "node_exporter_port": 9100, "grafana_port": 3000,
                "scrape_interval": "30s", "grafana_enabled": True, "firewall_enabled": True,
                "firewall_protect_metrics": False}
    play = [{"name": "Run from the installed collection", "hosts": "localhost", "connection": "local",
             "gather_facts": False, "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}",
                                             "inv": hostvars, "defaults": defaults},
             "tasks": [{"name": "Register targets", "limen.monitoring.prometheus_targets": {
                           "directory": str(out),
                           "jobs": "{{ ({'monitored_services': ['svc']} | limen.monitoring.topology(inv, defaults)).jobs }}"}}]}]
    path = tmp / "run.yml"
    path.write_text(json.dumps(play))
    run(["ansible-playbook", "-i", "localhost,", str(path)], tmp, env)
    written = json.loads((out / "api.json").read_text())
    assert [t for group in written for t in group["targets"]] == ["127.0.0.1:8080"]
