"""Every chapter in _toc.yml: its structure, a papermill run at the smoke profile, and the book build.

nbval runs the same notebooks through `pytest --nbval-lax book/` (part of the README's test command).
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import papermill
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def toc_chapters() -> list[Path]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [REPO / f"{f}.ipynb" for f in files if (REPO / f"{f}.ipynb").exists()]


CHAPTERS = toc_chapters()


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def glued(nb: dict) -> dict[str, str]:
    """The values a notebook glued with myst-nb, by name."""
    out = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                out[name] = next(iter(o["data"].values()))
    return out


def test_every_notebook_is_in_the_toc():
    assert sorted(CHAPTERS) == sorted(p for p in (REPO / "book").glob("*.ipynb"))
    assert CHAPTERS, "no chapter found"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_structure(chapter):
    cs = cells(chapter)
    assert all(not c.get("outputs") and not c.get("execution_count") for c in cs if c["cell_type"] == "code"), \
        "notebooks are committed without outputs"
    params = [c for c in cs if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    lines = [ln for ln in source(params[0]).splitlines() if ln.strip()]
    assert lines[0].startswith("profile") and all("  # " in ln for ln in lines), "one commented name per line"
    colab = [c for c in cs if "remove-cell" in c.get("metadata", {}).get("tags", [])]
    assert colab and "google.colab" in source(colab[0])
    assert any(re.search(r"^## Checks$", source(c), re.M) for c in cs if c["cell_type"] == "markdown"), \
        "a '## Checks' section"
    assert source(cs[0]).startswith("# ") and "{cite}" in source(cs[0])


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_at_smoke_profile_with_papermill(chapter, tmp_path):
    out = tmp_path / chapter.name
    papermill.execute_notebook(str(chapter), str(out), parameters={"profile": "smoke"}, cwd=str(chapter.parent),
                               progress_bar=False)
    values = glued(json.loads(out.read_text()))
    assert values["profile"].strip("'") == "smoke"
    assert float(values["wall_seconds"]) < 60, "a chapter at smoke profile takes under a minute"


def test_bad_parameter_fails_with_a_clear_error(tmp_path):
    chapter = REPO / "book" / "power_division.ipynb"
    with pytest.raises(papermill.PapermillExecutionError, match=r"op='pow' is not supported; allowed values"):
        papermill.execute_notebook(str(chapter), str(tmp_path / "out.ipynb"), parameters={"op": "pow"},
                                   cwd=str(chapter.parent), progress_bar=False)


@pytest.mark.slow
def test_book_builds_with_warnings_as_errors(tmp_path):
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    env = {**os.environ, "GROKUTILS_PROFILE": "smoke"}
    result = subprocess.run([str(jupyter_book), "build", str(REPO), "--path-output", str(tmp_path), "-W", "-n", "--keep-going"],
                            env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    for chapter in CHAPTERS:
        page = (tmp_path / "_build" / "html" / chapter.relative_to(REPO).with_suffix(".html")).read_text()
        assert "Traceback" not in page
        assert "all checks passed" in page, f"{chapter.name}: its Checks did not print 'all checks passed'"
