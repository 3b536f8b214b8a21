#!/usr/bin/env bash
# ansible-test sanity on the built collection: ansible-test wants the collection at
# .../ansible_collections/limen/monitoring, so the artifact is unpacked into a temporary
# tree of that shape (what is checked is exactly what would be published).
# Usage: sanity.sh CORE_VENV ARTIFACT.tar.gz
set -euo pipefail
venv=$(realpath "$1") artifact=$(realpath "$2")
root=$(pwd)
py=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# ansible-test builds one venv per sanity test and caches it under ~/.ansible/test: keep
# those per checkout, and give it the pip bootstrap it would otherwise download from
# ci-files.testing.ansible.com (not reachable here); the packages themselves come from PyPI.
home=$root/.cache/ansible-test-home
pip_version=$(grep -oP "pip='\K[0-9.]+" "$venv"/lib/python*/site-packages/ansible_test/_internal/python_requirements.py)
mkdir -p "$home/.ansible/test/cache"
cp "$root/tests/collection/get_pip_offline.py" "$home/.ansible/test/cache/get_pip_${pip_version//./_}.py"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
dest=$tree/ansible_collections/limen/monitoring
mkdir -p "$dest"
tar -xzf "$artifact" -C "$dest"
cd "$dest"
HOME=$home "$venv/bin/ansible-test" sanity --python "$py" --color no
