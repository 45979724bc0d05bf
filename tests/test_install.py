"""The README's first command, as written, on the system's Python alone: a fresh copy of the
repository, a ``PATH`` that holds only the system folders (no ``python``, no other Python,
nothing installed by the tests), Debian's ``python3`` with its PEP 668 protection."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = Path("/usr/bin/python3")


def readme_first_command() -> str:
    """The command of « Les deux commandes », item 1, as the README gives it."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Les deux commandes", 1)[1]
    return re.search(r"```bash\n(.+?)\n\s*```", section, re.S).group(1).strip()


def test_the_readme_names_no_bare_python():
    command = readme_first_command()
    assert not re.search(r"(^|[\s;&|])python(\s|$)", command), command
    assert "--break-system-packages" not in command


@pytest.mark.slow
def test_the_first_command_runs_on_the_system_python(tmp_path):
    if not SYSTEM_PYTHON.exists():
        pytest.skip("no system Python here")
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info"
                              " >= (3, 11))"], capture_output=True, text=True).stdout
    if version.strip() != "True":
        pytest.skip("the system Python is older than 3.11")
    copy = tmp_path / "ess-qpv"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, target)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
           "LANG": "C.UTF-8", "ESS_QPV_CACHE": str(tmp_path / "cache")}
    assert shutil.which("python", path=env["PATH"]) is None  # as on a stock Debian
    done = subprocess.run(["bash", "-c", readme_first_command()], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = copy / "ess-qpv-demo"
    for name in ("carte.html", "carte-autonome.html", "carte.pdf", "rapport.xlsx"):
        assert (out / name).stat().st_size > 1000
