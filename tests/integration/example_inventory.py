"""The example inventory as an operator copies it from the installed collection, its addresses
mapped to the lab's hosts (docs/install.md, "Starting from the example inventory", says which lines change).

Only the lab's hosts and the controller are ever named: every address and name of the example
that is not replaced is refused here, before a run could send anything to it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import yaml

from conftest import ANSI, RECAP

EXAMPLE = Path("collections/ansible_collections/limen/monitoring/inventories/example")
VAULT_PASSWORD = "vault-password.txt"
# The example's names for what the lab provides (its hosts.yml and group_vars).
HOSTS = {"monitor": "monitor", "limen-api": "svc1", "service2-api": "svc2", "service3-api": "svc2"}
FOREIGN = ("10.20.", "mail.internal", "oncall.internal")
MAIL_CA = "/etc/ssl/limen-lab-mail-ca.crt"   # the lab mail server's CA on the monitoring servers


def operator_env(home):
    """The operator's shell: HOME, the installed collections only, their own ansible.cfg
    (ANSIBLE_CONFIG, kept when the scenario sets it), nothing else of the caller's Ansible."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "XDG_")) or k == "ANSIBLE_CONFIG"}
    env.update(HOME=str(home), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(Path(home) / "limen" / "collections"))
    return env


def run(home, *cmd):
    """(returncode, output, recap by host) of CMD run in ~/limen as the operator."""
    r = subprocess.run(cmd, cwd=Path(home) / "limen", env=operator_env(home), capture_output=True,
                       text=True, timeout=1200)
    out = ANSI.sub("", r.stdout + r.stderr)
    recap = {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "failed": int(m[4])} for m in RECAP.findall(out)}
    return r.returncode, out, recap


def converge(home, *args):
    return run(home, "ansible-playbook", "-i", "inventories/prod", "--vault-password-file", VAULT_PASSWORD,
               *args, "limen.monitoring.monitoring")


def replace(path, old, new):
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found; the example changed, update the mapping"
    path.write_text(text.replace(old, new))


def copy_mapped(lab, home, merged):
    """~/limen/inventories/prod: the installed example with the lab's addresses and a vault of
    fresh values. service3-api lands on svc2's address (the lab has two service hosts); with
    MERGED its endpoint is moved onto service2-api, as the refusal of one address tells."""
    limen = Path(home) / "limen"
    prod = limen / "inventories" / "prod"
    shutil.rmtree(prod, ignore_errors=True)
    shutil.copytree(limen / EXAMPLE, prod)
    hosts_file = prod / "hosts.yml"
    doc = yaml.safe_load(hosts_file.read_text())
    children = doc["all"]["children"]
    for group in children.values():
        for name, hv in group["hosts"].items():
            hv["ansible_host"] = lab.addr(HOSTS[name])
    if merged:
        services = children["monitored_services"]["hosts"]
        services["service2-api"]["monitoring_endpoints"] += services.pop("service3-api")["monitoring_endpoints"]
    hosts_file.write_text("---\n" + yaml.safe_dump(doc, sort_keys=False))

    everyone = prod / "group_vars" / "all" / "main.yml"
    replace(everyone, "ansible_user: deploy", "ansible_user: root")
    replace(everyone, "10.20.0.0/16", lab.vars["lab_internal_network"])
    replace(everyone, "10.20.9.0/24", lab.vars["lab_controller_address"] + "/32")
    # The lab's SSH key; its hosts' keys in the operator's own known_hosts (checking stays on).
    with everyone.open("a") as f:
        f.write(f"ansible_ssh_private_key_file: {lab.vars['ansible_ssh_private_key_file']}\n"
                f"ansible_ssh_common_args: -o UserKnownHostsFile={Path(home) / '.ssh' / 'known_hosts'}\n")

    servers = prod / "group_vars" / "monitoring_servers.yml"
    replace(servers, "https://10.20.0.5:9093", f"https://{lab.monitor}:9093")
    # Mail goes to the lab's mail server (lab.py mail, started by the scenario's prepare.yml),
    # trusted through its CA (placed on the monitoring servers by prepare.yml), with the
    # example's login and the vault's password: deliveries succeed, so the self-check that
    # ends every run (it names a receiver whose last notification failed) holds as it is.
    replace(servers, "mail.internal:587", lab.vars["lab_smtp_smarthost"])
    replace(servers, "      - to: ops@example.internal\n",
            f"      - to: ops@example.internal\n        tls_config: {{ca_file: {MAIL_CA}}}\n")
    replace(servers, 'url: "{{ vault_limen_oncall_webhook }}"', f"url: {lab.receiver}")
    with servers.open("a") as f:   # Grafana's packages are not reachable from the lab
        f.write("grafana_install_method: none\ngrafana_manage_service: false\n")

    values = {k: secrets.token_urlsafe(24) for k in yaml.safe_load((prod / "group_vars/all/vault.yml").read_text())}
    mail_login(lab, servers, values["vault_smtp_password"])
    (prod / "group_vars" / "all" / "vault.yml").write_text("---\n" + yaml.safe_dump(values))
    (limen / VAULT_PASSWORD).write_text(secrets.token_urlsafe(24) + "\n")
    code, out, _ = run(home, "ansible-vault", "encrypt", "--vault-password-file", VAULT_PASSWORD,
                       "inventories/prod/group_vars/all/vault.yml")
    assert code == 0, out
    known_hosts(lab, home)
    for path in prod.rglob("*.yml"):
        text = path.read_text()
        assert not [f for f in FOREIGN if f in text], f"{path} still names a host outside the lab"
    return values


def mail_login(lab, servers, password):
    """Let the lab's mail server accept the example's SMTP login with PASSWORD (beside the
    logins it already knows)."""
    login = yaml.safe_load(servers.read_text())["alertmanager_global"]["smtp_auth_username"]
    users = Path(lab.vars["lab_mail_dir"]) / "users"
    others = [line for line in users.read_text().splitlines() if not line.startswith(f"{login}:")]
    users.write_text("".join(f"{line}\n" for line in [*others, f"{login}:{password}"]))
    return login


def known_hosts(lab, home):
    ssh = Path(home) / ".ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    addresses = sorted({lab.addr(h) for h in HOSTS.values()})
    r = subprocess.run(["ssh-keyscan", "-T", "10", *addresses], capture_output=True, text=True, timeout=60)
    assert r.stdout.count("\n") >= len(addresses), r.stderr
    (ssh / "known_hosts").write_text(r.stdout)


def secrets_dir(home):
    """The directory the run made for the inventory (pki_secrets_dir's default)."""
    found = list((Path(home) / ".local" / "share" / "limen-monitoring").glob("prod-*"))
    assert len(found) == 1, found
    return found[0]


def snapshot(directory):
    """Every file under DIRECTORY with its bytes: what a reinstall must not touch."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
