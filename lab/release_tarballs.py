#!/usr/bin/env python3
"""Build upstream-layout release tarballs from Debian's real binaries, for the lab.

Upstream releases cannot be downloaded here, so the release/local install tests use
tarballs with the upstream layout (<name>-<version>.linux-amd64/<binaries>, a
sha256sums.txt beside them) made from the binaries in Debian's packages, which
`make tools` unpacks into .cache/tools. Prometheus below 3.0 also expects consoles/ and
console_libraries/ in the tarball.

  release_tarballs.py OUT NAME=VERSION ...   e.g. prometheus=2.42.0 node_exporter=1.5.0
writes OUT/<name>/v<version>/<name>-<version>.linux-amd64.tar.gz and sha256sums.txt.
The same binaries may be packed under several versions to exercise an upgrade path.
"""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / ".cache" / "tools" / "usr" / "bin"
# name in the tarball -> binary in Debian's package
BINARIES = {
    "prometheus": {"prometheus": "prometheus", "promtool": "promtool"},
    "alertmanager": {"alertmanager": "prometheus-alertmanager", "amtool": "amtool"},
    "node_exporter": {"node_exporter": "prometheus-node-exporter"},
}


def build(out: Path, name: str, version: str) -> Path:
    top = f"{name}-{version}.linux-amd64"
    target = out / name / f"v{version}"
    target.mkdir(parents=True, exist_ok=True)
    archive = target / f"{top}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for inside, debian in BINARIES[name].items():
            tar.add(TOOLS / debian, arcname=f"{top}/{inside}")
        if name == "prometheus":
            for extra in ("consoles", "console_libraries"):
                info = tarfile.TarInfo(f"{top}/{extra}")
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
        notice = "Repackaged from Debian's binaries for tests; reports its own version.\n".encode()
        info = tarfile.TarInfo(f"{top}/NOTICE")
        info.size = len(notice)
        tar.addfile(info, io.BytesIO(notice))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (target / "sha256sums.txt").write_text(f"{digest}  {archive.name}\n")
    return archive


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not all("=" in a for a in argv[1:]):
        print(__doc__, file=sys.stderr)
        return 2
    missing = [b for spec in argv[1:] for b in BINARIES[spec.split("=")[0]].values() if not (TOOLS / b).exists()]
    if missing:
        print(f"missing {missing} in {TOOLS}: run `make tools`", file=sys.stderr)
        return 1
    for spec in argv[1:]:
        name, version = spec.split("=", 1)
        print(build(Path(argv[0]), name, version))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
