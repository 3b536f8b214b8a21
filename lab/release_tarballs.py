#!/usr/bin/env python3
"""Build upstream-layout release tarballs from Debian's real binaries, for the lab.

Upstream releases cannot be downloaded here, so the release/local install tests use
tarballs with the upstream layout (<name>-<version>.linux-amd64/<binaries>, a
sha256sums.txt beside them) made from the binaries in Debian's packages: bookworm's
(`make tools`, .cache/tools) and trixie's (`make tools-trixie`, .cache/tools-trixie), so
an upgrade goes from one real release to the next. A tarball is only built for a version
its binary reports (`--version`): the name never lies about the contents.

Two differences from upstream, both from Debian's build: Prometheus below 3.0 expects
consoles/ and console_libraries/ (added, empty); Debian's alertmanager reads its
notification templates from /usr/share/prometheus/alertmanager/ instead of carrying them
inside the binary, so that version's templates are written beside the tarball, in
debian-templates/, for the lab to put in place (the upstream binary needs nothing).

  release_tarballs.py OUT NAME=VERSION ...   e.g. prometheus=2.42.0 alertmanager=0.25.0
writes OUT/<name>/v<version>/<name>-<version>.linux-amd64.tar.gz and sha256sums.txt.
victoria-metrics=VERSION packs VictoriaMetrics in upstream's layout
(victoria-metrics-linux-amd64-v<version>.tar.gz); Debian's build reports no version, so
the version is checked against the package file's name instead.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".cache"
TREES = [CACHE / "tools", CACHE / "tools-trixie"]   # unpacked Debian packages
# name in the tarball -> binary in Debian's package
BINARIES = {
    "prometheus": {"prometheus": "prometheus", "promtool": "promtool"},
    "alertmanager": {"alertmanager": "prometheus-alertmanager", "amtool": "amtool"},
    "node_exporter": {"node_exporter": "prometheus-node-exporter"},
    "victoria-metrics": {"victoria-metrics-prod": "victoria-metrics"},
}
TEMPLATES = Path("usr/share/prometheus/alertmanager")
VERSION = re.compile(r"version (\d+\.\d+\.\d+)")


def reported_version(binary: Path) -> str | None:
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    m = VERSION.search(r.stdout + r.stderr)
    return m.group(1) if m else None


def tree_for(name: str, version: str) -> Path:
    """The unpacked Debian tree whose binaries all report VERSION."""
    found = []
    for tree in TREES:
        versions = {reported_version(tree / "usr/bin" / b) if (tree / "usr/bin" / b).exists() else None
                    for b in BINARIES[name].values()}
        found.append(f"{tree.name}: {sorted(map(str, versions))}")
        if versions == {version}:
            return tree
    raise SystemExit(f"no Debian binaries of {name} {version} ({'; '.join(found)}); "
                     "run `make tools tools-trixie`")


def build_victoriametrics(out: Path, version: str) -> Path:
    """VictoriaMetrics' own layout: the binary at the top of
    victoria-metrics-linux-amd64-v<version>.tar.gz, sums in <archive stem>_checksums.txt."""
    debs = [d for tree in TREES for d in (tree / "debs").glob(f"victoria-metrics_{version}+*.deb")]
    if not debs:
        raise SystemExit(f"no Debian package of victoria-metrics {version}; run `make tools`")
    binary = debs[0].parent.parent / "usr/bin/victoria-metrics"
    stem = f"victoria-metrics-linux-amd64-v{version}"
    target = out / "victoria-metrics" / f"v{version}"
    target.mkdir(parents=True, exist_ok=True)
    archive = target / f"{stem}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(binary, arcname="victoria-metrics-prod", filter=upstream_owner)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (target / f"{stem}_checksums.txt").write_text(f"{digest}  {archive.name}\n")
    return archive


def upstream_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owned as upstream's CI packs its tarballs (uid/gid 3434, or 1001 on GitHub runners),
    never root: an install must not keep the tarball's owner (1001 is often a real user)."""
    info.uid = info.gid = 1001 if info.name.startswith("node_exporter") else 3434
    info.uname = info.gname = ""
    return info


def build(out: Path, name: str, version: str) -> Path:
    if name == "victoria-metrics":
        return build_victoriametrics(out, version)
    tree = tree_for(name, version)
    top = f"{name}-{version}.linux-amd64"
    target = out / name / f"v{version}"
    target.mkdir(parents=True, exist_ok=True)
    archive = target / f"{top}.tar.gz"
    # Fast compression: these tarballs only travel over the lab bridge.
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for inside, debian in BINARIES[name].items():
            tar.add(tree / "usr/bin" / debian, arcname=f"{top}/{inside}", filter=upstream_owner)
        if name == "prometheus" and int(version.split(".")[0]) < 3:
            for extra in ("consoles", "console_libraries"):
                info = tarfile.TarInfo(f"{top}/{extra}")
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(upstream_owner(info))
        notice = "Repackaged from Debian's binaries for tests; reports its own version.\n".encode()
        info = tarfile.TarInfo(f"{top}/NOTICE")
        info.size = len(notice)
        tar.addfile(upstream_owner(info), io.BytesIO(notice))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (target / "sha256sums.txt").write_text(f"{digest}  {archive.name}\n")
    if name == "alertmanager":
        templates = target / "debian-templates"
        shutil.rmtree(templates, ignore_errors=True)
        templates.mkdir()
        for tmpl in sorted((tree / TEMPLATES).glob("*.tmpl")):
            shutil.copy(tmpl, templates / tmpl.name)
    return archive


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not all("=" in a and a.split("=")[0] in BINARIES for a in argv[1:]):
        print(__doc__, file=sys.stderr)
        return 2
    for spec in argv[1:]:
        name, version = spec.split("=", 1)
        print(build(Path(argv[0]), name, version))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
