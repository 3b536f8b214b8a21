"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com
(not reachable from here) to bootstrap pip into its sanity-test venvs.

Same contract: run inside a fresh venv without pip, with pip's command-line options and the
packages to install (pip==X) as arguments. pip comes from the interpreter's own ensurepip,
then the requested version from the package index pip is configured for.
"""

import subprocess
import sys

subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", "--force-reinstall", *args]))
