"""The chapters' Colab install cell, run in a fresh environment: it installs ``grokutils`` from the repository's git
address (here a local clone's), keeps the torch already there, and a chapter then executes at ``smoke``.

The environment uses the oldest Python the package declares (``requires-python``). The clone holds the committed
state of this checkout (HEAD): uncommitted changes are not installed.
"""
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib

from grokutils.book import launch

REPO = Path(__file__).resolve().parents[1]
CHAPTER = REPO / "book" / "power_division.ipynb"
TORCH = "torch==2.13.0"
"""The torch a reader's environment already has (Colab's own; here the CPU build on this machine's disk)."""


def oldest_python() -> str:
    """``pythonX.Y`` for the oldest version ``pyproject.toml`` declares (``requires-python = ">=X.Y"``)."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    match = re.fullmatch(r">=\s*(3\.\d+)", declared)
    assert match, f"requires-python={declared!r}: expected the form '>=3.N'"
    return f"python{match.group(1)}"


def install_arguments(notebook: Path, url: str) -> list[str]:
    """The ``%pip install`` arguments of ``notebook``'s install cell, the repository's address replaced by ``url``."""
    line = next(ln for ln in launch._install_source(notebook).splitlines() if "%pip install" in ln)
    repo = launch.repository()
    address = f"git+{repo.url.rstrip('/')}@{repo.branch}"
    args = shlex.split(line.split("%pip install", 1)[1])
    assert any(address in a for a in args), f"the install cell does not install from {address}"
    return [a.replace(address, url) for a in args]


def run(cmd: list[str], **kwargs) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.slow
def test_the_install_cell_installs_grokutils_keeps_torch_and_a_chapter_runs(tmp_path):
    python = shutil.which(oldest_python())
    assert python, f"{oldest_python()} (the oldest Python the package declares) is not installed"
    clone, venv = tmp_path / "clone", tmp_path / "venv"
    run(["git", "clone", "--quiet", str(REPO), str(clone)])
    commit = run(["git", "-C", str(REPO), "rev-parse", "HEAD"]).strip()
    run([python, "-m", "venv", str(venv)])
    pip, vpython = [str(venv / "bin" / "python"), "-m", "pip"], str(venv / "bin" / "python")
    run([*pip, "install", "-q", "--upgrade", "pip"])  # Colab's pip is recent; the one venv bundles may reject file URLs
    run([*pip, "install", "-q", TORCH])
    torch_before = run([vpython, "-c", "import torch; print(torch.__version__)"]).strip()
    run([*pip, "install", *install_arguments(CHAPTER, f"git+file://{clone}@{commit}")])
    assert run([vpython, "-c", "import torch; print(torch.__version__)"]).strip() == torch_before, "torch was replaced"
    where = run([vpython, "-c", "import grokutils; print(grokutils.__file__)"], cwd=tmp_path).strip()
    assert where.startswith(str(venv)), f"grokutils imported from {where}, not the fresh environment"
    run([*pip, "install", "-q", "ipykernel", "papermill"])  # Colab has the kernel; papermill runs the chapter here
    env = {**os.environ, "GROKUTILS_CACHE": str(tmp_path / "cache"), "GROKUTILS_PROFILE": "smoke", "MPLBACKEND": "Agg",
           "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    run([str(venv / "bin" / "papermill"), str(CHAPTER), str(tmp_path / "out.ipynb"), "--cwd", str(tmp_path),
         "-k", "python3"], env=env, cwd=tmp_path)
    assert "all checks passed" in (tmp_path / "out.ipynb").read_text()
