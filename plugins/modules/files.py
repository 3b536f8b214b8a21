#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""A role's directories and files, checked and written in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: files
short_description: Ensure a role's directories and files in one call, each file validated before any is written
description:
  - Creates the O(directories), writes the O(files) and O(secret_files) whose content differs,
    sets owner, group and mode where they differ, and removes the files of a pruned directory
    that are no longer wanted; one module run where M(ansible.builtin.template) needs two per file.
  - Every changed file with a O(files[].validate) command is checked first, as a candidate next to
    its destination; when one fails, none of them is written and the error names the file.
    O(secret_files) without a validate command (password and token files, certificates, keys) are
    written before that check, since the checked configurations name them and their checkers
    (C(promtool check config)) require them to exist.
  - Each file is replaced atomically (written beside it, then renamed), with its owner and mode set
    before it appears, so readers never see a half-written or briefly world-readable file.
  - The content of O(secret_files) is never logged nor shown in a diff.
  - Every entry is checked before anything is created, and a refused call changes nothing. Refused
    are relative paths, one path given twice (also spelt C(d/./a)), paths under C(/proc), C(/sys) and
    C(/dev), a destination that is a directory, FIFO, device or symlink (never opened), a directory to
    make below a file, an unknown owner or group (outside check mode, since an earlier task may create them),
    a malformed mode such as C(0999), and a O(files[].validate) command that is not installed.
  - A write the kernel refuses (full or read-only file system, an immutable file) fails naming the path
    and the likely cause.
version_added: 0.2.0
author: limen.monitoring maintainers (!UNKNOWN)
options:
  directories:
    description: Directories to create (with their parents) before the files are written.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: Owner (name or uid); unchanged when omitted.
        type: str
      group:
        description: Group (name or gid); unchanged when omitted.
        type: str
      mode:
        description: Mode, as an octal string such as C("0750") or a symbolic mode.
        type: raw
  files:
    description: Files whose content may be shown in a diff.
    type: list
    elements: dict
    default: []
    suboptions: &file
      path:
        description: Absolute path.
        type: path
        required: true
      content:
        description: The whole content.
        type: str
        required: true
      owner:
        description: Owner (name or uid); unchanged when omitted.
        type: str
      group:
        description: Group (name or gid); unchanged when omitted.
        type: str
      mode:
        description: Mode, as an octal string such as C("0640") or a symbolic mode.
        type: raw
      validate:
        description: Command that checks a changed file before it is written; C(%s) is the candidate's path.
        type: str
  secret_files:
    description: Files holding secrets (passwords, keys); like O(files), never logged nor diffed.
    type: list
    elements: dict
    default: []
    suboptions: *file
  prune:
    description: Directories where files matching O(prune[].patterns) and not in O(files) or O(secret_files) are removed.
    type: list
    elements: dict
    default: []
    suboptions:
      directory:
        description: Absolute path of the directory (entries of subdirectories are not touched).
        type: path
        required: true
      patterns:
        description:
          - Shell patterns of the file names to consider, such as C(*.yml).
          - As in the shell, a name starting with C(.) is matched only by a pattern starting with C(.)
            (C(*) leaves hidden files alone).
        type: list
        elements: str
        required: true
  service:
    description:
      - A systemd service to enable and start once the files are in place (after a C(daemon-reload) when a
        file under C(/etc/systemd/system) changed). A service that is already running is left alone; whether
        it needs a reload or restart is for the caller's handlers, which can skip it when RV(service_started).
      - When it does not start, the error quotes the end of its journal.
    type: str
extends_documentation_fragment:
  - limen.monitoring.attributes
"""

EXAMPLES = r"""
- name: Write Prometheus' configuration
  limen.monitoring.files:
    directories:
      - {path: /etc/prometheus/rules, owner: root, group: prometheus, mode: "0755"}
    files:
      - path: /etc/prometheus/prometheus.yml
        content: "{{ lookup('ansible.builtin.template', 'prometheus.yml.j2') }}"
        owner: root
        group: prometheus
        mode: "0644"
        validate: promtool check config %s
    secret_files:
      - {path: /etc/prometheus/secrets/limen, content: "{{ vault_limen_password }}", owner: prometheus, mode: "0600"}
    prune:
      - {directory: /etc/prometheus/rules, patterns: ["*.yml"]}
"""

RETURN = r"""
changed_paths:
  description: Directories and files that were (or would be) created, changed or removed.
  returned: always
  type: list
  elements: str
  sample: ["/etc/prometheus/prometheus.yml"]
checksums:
  description: SHA-1 of the wanted content of each file of O(files) (never of a secret), by path.
  returned: always
  type: dict
  sample: {"/etc/nftables.d/limen.nft": "5e1f0c..."}
service_started:
  description: The O(service) was not running and was (or would be) started, so it runs the new files already.
  returned: always
  type: bool
  sample: false
"""

import contextlib
import errno
import hashlib
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.limen.monitoring.plugins.module_utils.atomic_file import (
    UnsafeFile,
    octal_mode,
    read_regular,
    staged,
)
from ansible_collections.limen.monitoring.plugins.module_utils.file_attributes import attribute_problems
from ansible_collections.limen.monitoring.plugins.module_utils.file_set import (
    FileSetError,
    check_paths,
    differing,
    unwanted,
    validation_command,
)

DIRECTORY_OPTIONS = dict(
    path=dict(type="path", required=True),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="raw"),
)
FILE_OPTIONS = dict(DIRECTORY_OPTIONS, content=dict(type="str", required=True), validate=dict(type="str"))
SECRET_OPTIONS = dict(FILE_OPTIONS, content=dict(type="str", required=True, no_log=True))
# What an operator can do about an error the kernel gave while writing.
ERRNO_HINTS = {errno.ENOSPC: "the file system is full", errno.EDQUOT: "the disk quota is exhausted",
               errno.EROFS: "the file system is mounted read-only",
               errno.EPERM: "the file or its directory may be immutable (lsattr) or the operation not permitted",
               errno.EACCES: "permission denied", errno.EISDIR: "a directory is in the way"}


def os_error_message(exc, action="write"):
    """'cannot write PATH: No space left on device (the file system is full)'."""
    hint = ERRNO_HINTS.get(exc.errno)
    where = exc.filename or "a file"
    return f"cannot {action} {where}: {exc.strerror or exc}" + (f" ({hint})" if hint else "")


def attribute_diff(diff, path):
    return {"before_header": path, "after_header": path,
            "before": f"{diff['before']}\n", "after": f"{diff['after']}\n"}


def _existing_ancestor(path):
    """The nearest ancestor of PATH (PATH included) that exists, and the first missing one below it."""
    missing = None
    while not os.path.lexists(path):
        missing, path = path, os.path.dirname(path)
    return path, missing


def plan_directories(items):
    """[(item, created)] for every directory, all checked before any is made; raises FileSetError."""
    out = []
    for index, item in enumerate(items):
        path = item["path"]
        base, _missing = _existing_ancestor(path)
        if not os.path.isdir(base):
            what = "exists and is not a directory" if base == path else f"cannot be made: {base} is not a directory"
            raise FileSetError(f"directories[{index}]: {path} {what}")
        out.append((item, base != path))
    return out


def ensure_directories(module, planned, changed, diffs):
    for item, created in planned:
        path = item["path"]
        diff = {"before": {"path": path}, "after": {"path": path}}
        if created:
            diff["before"]["state"], diff["after"]["state"] = "absent", "directory"
            if not module.check_mode:
                os.makedirs(path, exist_ok=True)
        file_args = module.load_file_common_arguments(item, path=path)
        if (created and module.check_mode) or module.set_fs_attributes_if_different(file_args, created, diff=diff):
            changed.append(path)
            diffs.append(attribute_diff(diff, path))


@contextlib.contextmanager
def candidate(module, item, mode):
    """A temporary file beside ITEM's destination holding its new content, owner and mode."""
    with staged(item["path"], item["content"], mode, prefix=".limen-") as tmp:
        module.set_owner_if_different(tmp, item.get("owner"), False)
        module.set_group_if_different(tmp, item.get("group"), False)
        yield tmp


def check(module, item):
    """Fail, naming the file, when ITEM's new content does not pass its validate command."""
    with candidate(module, item, 0o600) as tmp:
        argv = validation_command(item["validate"], tmp)
        rc, out, err = module.run_command(argv)
        if rc != 0:
            module.fail_json(msg=f"{item['path']} failed validation ({item['validate']}), "
                                 f"nothing was written: {(err or out).strip()}", rc=rc)


def apply(module, item, secret, before, changed, diffs):
    """Write ITEM when BEFORE (its current content, None when absent) differs, else put its
    owner, group and mode right; record what changed."""
    path = item["path"]
    if before != item["content"]:
        if not module.check_mode:
            with candidate(module, item, new_mode(item, secret)) as tmp:
                os.replace(tmp, path)
            # A symbolic mode (or an SELinux context) is applied to the file in place.
            module.set_fs_attributes_if_different(module.load_file_common_arguments(item, path=path), False)
        changed.append(path)
        if not secret:
            diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": item["content"]})
        return
    diff = {"before": {"path": path}, "after": {"path": path}}
    if module.set_fs_attributes_if_different(module.load_file_common_arguments(item, path=path), False, diff=diff):
        changed.append(path)
        diffs.append(attribute_diff(diff, path))


def ensure_service(module, name, changed):
    """Enable and start NAME where needed: (enabled or started just now, started just now)."""
    systemctl = module.get_bin_path("systemctl", required=True)
    if any(path.startswith("/etc/systemd/system/") for path in changed) and not module.check_mode:
        module.run_command([systemctl, "daemon-reload"], check_rc=True)
    enabled = module.run_command([systemctl, "is-enabled", name])[1].strip() == "enabled"
    active = module.run_command([systemctl, "is-active", name])[1].strip() == "active"
    if not enabled and not module.check_mode:
        module.run_command([systemctl, "enable", name], check_rc=True)
    if active:
        return not enabled, False
    if not module.check_mode:
        rc, out, err = module.run_command([systemctl, "start", name])
        if rc != 0:
            journal = module.run_command(["journalctl", "-u", name, "-n", "15", "--no-pager", "-o", "cat"])[1]
            module.fail_json(msg=f"{name} did not start: {(err or out).strip()}\n{journal.strip()}", rc=rc)
    return True, True


def new_mode(item, secret):
    if item.get("mode") is not None:
        return octal_mode(item["mode"], 0o600 if secret else 0o644)
    if os.path.exists(item["path"]):
        return os.stat(item["path"]).st_mode & 0o7777
    return 0o600 if secret else 0o644


def preflight(module, p):
    """Everything that can be refused, refused before anything is created: paths, owners,
    groups, modes, validate commands, what is in the way. Returns (directories, current texts)."""
    every_file = p["files"] + p["secret_files"]
    check_paths(every_file, p["prune"], p["directories"])
    problems = []
    for option in ("directories", "files", "secret_files"):
        for index, item in enumerate(p[option]):
            found = attribute_problems(item, f"{option}[{index}] ({item['path']})")
            # In check mode a user or group may not exist yet: an earlier task creates it.
            problems += [m for m in found if not (module.check_mode and "does not exist" in m)]
            if item.get("validate"):
                # In check mode nothing is validated, and the checker may come with a package
                # an earlier task installs: only its form is checked then.
                validation_command(item["validate"], "%s", None if module.check_mode else module.get_bin_path)
    if problems:
        raise FileSetError("; ".join(problems) + "; nothing was changed")
    planned = plan_directories(p["directories"])
    current = {}
    for item in every_file:
        try:
            data = read_regular(item["path"])
        except UnsafeFile as exc:
            raise FileSetError(f"{exc}; the module replaces regular files only, nothing was changed") from None
        except OSError as exc:
            raise FileSetError(os_error_message(exc, "read")) from None
        current[item["path"]] = None if data is None else data.decode("utf-8", "surrogateescape")
    made = {os.path.normpath(item["path"]) for item, _created in planned}
    for item in differing(every_file, current.get):
        parent = os.path.dirname(os.path.normpath(item["path"]))
        if not os.path.isdir(parent) and not any(m == parent or m.startswith(parent + "/") for m in made):
            if os.path.lexists(parent):
                raise FileSetError(f"{item['path']}: {parent} is not a directory")
            if not module.check_mode:
                raise FileSetError(f"{item['path']}: its directory does not exist (list it in directories)")
    return planned, current


def converge(module, p, planned, current):
    changed, diffs = [], []
    every_file = p["files"] + p["secret_files"]
    ensure_directories(module, planned, changed, diffs)
    stale = {id(f) for f in differing(every_file, current.get)}
    # Secrets without a check of their own (password and token files, certificates, keys) land
    # first: they are what the checked configurations name, and promtool insists they exist.
    inputs = [(f, True) for f in p["secret_files"] if not f.get("validate")]
    checked = [(f, False) for f in p["files"]] + [(f, True) for f in p["secret_files"] if f.get("validate")]
    for item, secret in inputs:
        apply(module, item, secret, current[item["path"]], changed, diffs)
    if not module.check_mode:
        # Every other changed file is checked before any of them is written.
        for item, _secret in checked:
            if id(item) in stale and item.get("validate"):
                check(module, item)
    for item, secret in checked:
        apply(module, item, secret, current[item["path"]], changed, diffs)

    wanted = [f["path"] for f in every_file]
    for rule in p["prune"]:
        directory = rule["directory"]
        names = [n for n in os.listdir(directory) if os.path.isfile(os.path.join(directory, n))] \
            if os.path.isdir(directory) else []
        for path in unwanted(directory, names, rule["patterns"], wanted):
            if not module.check_mode:
                os.unlink(path)
            changed.append(path)
            diffs.append({"before_header": path, "after_header": path,
                          "before": "state: file\n", "after": "state: absent\n"})
    return changed, diffs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[], options=DIRECTORY_OPTIONS),
            files=dict(type="list", elements="dict", default=[], options=FILE_OPTIONS),
            secret_files=dict(type="list", elements="dict", default=[], options=SECRET_OPTIONS, no_log=False),
            service=dict(type="str"),
            prune=dict(type="list", elements="dict", default=[], options=dict(
                directory=dict(type="path", required=True),
                patterns=dict(type="list", elements="str", required=True),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    error = None
    try:
        planned, current = preflight(module, p)
        changed, diffs = converge(module, p, planned, current)
    except FileSetError as err:
        error = str(err)
    except OSError as exc:
        error = os_error_message(exc)
    if error is not None:   # outside the except block: the message, not the handled exception's traceback
        module.fail_json(msg=error)

    service_changed, started = ensure_service(module, p["service"], changed) if p["service"] else (False, False)
    checksums = {f["path"]: hashlib.sha1(f["content"].encode("utf-8", "surrogateescape")).hexdigest() for f in p["files"]}
    module.exit_json(changed=bool(changed) or service_changed, changed_paths=changed, service_started=started,
                     checksums=checksums,
                     diff=diffs if module._diff else {})


if __name__ == "__main__":
    main()
