"""Build an installed collection (e.g. community.crypto as PyPI's `ansible` package ships it)
back into an artifact that `ansible-galaxy collection install --offline` takes.

The installed copy cannot be packed as it is: its FILES.json lists files its packager left out.
Its MANIFEST.json's collection_info is what galaxy.yml holds, so it is written as galaxy.yml
beside a copy of the files, and `ansible-galaxy collection build` makes a fresh artifact.

    dependency_artifact.py INSTALLED_COLLECTION_DIR OUTPUT_DIR
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml


def main(source: Path, output: Path) -> Path:
    info = json.loads((source / "MANIFEST.json").read_text())["collection_info"]
    galaxy = {key: value for key, value in info.items() if value not in (None, [], {}, "")}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "collection"
        shutil.copytree(source, copy, symlinks=True, ignore=shutil.ignore_patterns("MANIFEST.json", "FILES.json"))
        (copy / "galaxy.yml").write_text(yaml.safe_dump(galaxy, sort_keys=False))
        ansible_galaxy = Path(sys.executable).with_name("ansible-galaxy")
        subprocess.run([str(ansible_galaxy), "collection", "build", "--force", "--output-path", str(output), str(copy)],
                       check=True, stdout=subprocess.DEVNULL)
    artifact = output / f"{info['namespace']}-{info['name']}-{info['version']}.tar.gz"
    assert artifact.is_file(), artifact
    return artifact


if __name__ == "__main__":
    print(main(Path(sys.argv[1]), Path(sys.argv[2])))
