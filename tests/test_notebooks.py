"""Every chapter in _toc.yml: its structure and contract, its parameters (bad values fail before anything is
written), papermill's parameter injection, and the book build with warnings as errors.

The chapters are executed once each at the smoke profile by nbval (``pytest book --nbval-lax``, run before these
tests by the README's test command); the book build then re-executes them against the run cache nbval filled. The
``book`` and ``paper`` profiles are executed as dry runs in ``test_dryrun.py``.
"""
import importlib
import inspect
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import papermill
import pytest
import torch
import yaml

from grokutils.book import launch
from grokutils.export import load_run

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


def code_cells(path: Path) -> list[str]:
    return [source(c) for c in cells(path) if c["cell_type"] == "code"]


def parameters_cell(path: Path) -> str:
    params = [source(c) for c in cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    return params[0]


def parameter_names(path: Path) -> list[str]:
    return [ln.split("=")[0].strip() for ln in parameters_cell(path).splitlines() if ln.strip()]


def figure_names(path: Path) -> list[str]:
    """The names of the chapter's figures (each figure cell's ``mystnb.figure.name``)."""
    cells = json.loads(path.read_text())["cells"]
    return [c["metadata"]["mystnb"]["figure"]["name"] for c in cells if "figure" in c["metadata"].get("mystnb", {})]


def module_of(path: Path):
    return importlib.import_module(f"grokutils.chapters.{path.stem}")


def test_install_cells_follow_the_repository_in_config():
    assert launch.install_cells_out_of_date() == [], "run `python -m grokutils.book.launch` after changing repository.url"


def test_every_notebook_is_in_the_toc():
    assert sorted(CHAPTERS) == sorted(p for p in (REPO / "book").glob("*.ipynb"))
    assert CHAPTERS, "no chapter found"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_structure(chapter):
    cs = cells(chapter)
    title, *rest = source(cs[0]).split("\n")
    assert len(title) <= 40, f"the title ({len(title)} characters) fits on one or two lines of the table of contents"
    assert next(line for line in rest if line.strip()).startswith("**"), "the claim follows the title, in bold"
    assert "{glue:md} run_box" in source(cs[0]), "the 'Run this chapter' box is at the top"
    assert all(not c.get("outputs") and not c.get("execution_count") for c in cs if c["cell_type"] == "code"), \
        "notebooks are committed without outputs"
    lines = [ln for ln in parameters_cell(chapter).splitlines() if ln.strip()]
    assert lines[0].startswith("profile = ") and all(re.match(r"^\w+ = .+  # \S", ln) for ln in lines), \
        "one literal name per line, each with a comment"
    colab = [c for c in cs if "remove-cell" in c.get("metadata", {}).get("tags", [])]
    assert colab and "google.colab" in source(colab[0])
    assert any(re.search(r"^## Checks$", source(c), re.M) for c in cs if c["cell_type"] == "markdown"), \
        "a '## Checks' section"
    assert source(cs[0]).startswith("# ") and "{cite}" in source(cs[0])


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_follows_the_contract(chapter):
    module, code = module_of(chapter), code_cells(chapter)
    assert list(inspect.signature(module.settings).parameters) == parameter_names(chapter), \
        "settings() takes exactly the notebook's parameters, in order"
    assert callable(module.check) and [n for n in vars(module) if n == "measure" or n.startswith("measure_")]
    assert not [c for c in code if re.search(r"^\s*def |\blambda\b", c, re.M)], "no function definitions in notebooks"
    assert f"from grokutils.chapters import {chapter.stem} as chapter" in "\n".join(code)
    assert sum("chapter.check(" in c for c in code) == 1 and code[-1].strip().startswith("book.finish(clock, settings, ")
    settings_cell = next(c for c in code if "chapter.settings(" in c)
    assert "clock = book.start(settings)" in settings_cell


BAD_VALUES = {
    "profile": ["quick", 3],
    "seed": ["abc", 1.5, True, -1, 2**31, 2**64],  # one seed domain for every chapter: [0, 2**31)
    "steps": [1e2, 0, "10"],
    "p": [97.0, 1, 2**61 - 1, 1_000_003],
    "frac_train": [1.5, math.nan, 1e-6],
    "alpha": [0, math.nan, math.inf, "8"],
    "op": ["pow"],
    "device": ["tpu"] + ([] if torch.cuda.is_available() else ["cuda"]),
    "grid_seeds": [0, 2.0, 21],
    "grid_points": [4, 1, "15"],
    "mlp_steps": [0, 1e3], "lstm_steps": [0, "8000"],
    "intervention_steps": [0, 2.5], "operation_steps": [-1, "3000"],
    "n_alphas": [4, 3, 43, 11.0], "modular_steps": [10, "3000"],
}


def bad_cases():
    for chapter in CHAPTERS:
        for name in parameter_names(chapter):
            for value in BAD_VALUES.get(name, []):
                yield pytest.param(chapter, name, value, id=f"{chapter.stem}-{name}={value!r}")


def run_until_settings(chapter: Path, overrides: dict) -> dict:
    """Execute the chapter's cells up to the one that resolves its settings, the overrides after the parameters."""
    namespace: dict = {}
    for cell in code_cells(chapter):
        if "google.colab" in cell:
            continue
        exec(cell, namespace)
        if cell == parameters_cell(chapter):
            namespace.update(overrides)
        if "chapter.settings(" in cell:
            return namespace
    raise AssertionError("no cell calls chapter.settings(")


@pytest.mark.parametrize("chapter,name,value", list(bad_cases()))
def test_bad_parameter_fails_before_anything_is_written(chapter, name, value, fresh_cache):
    expected = "GROKUTILS_PROFILE|profile" if name == "profile" else re.escape(name)
    with pytest.raises(ValueError, match=rf"({expected})=.*(allowed|must|gives|available)"):
        run_until_settings(chapter, {name: value})
    assert not fresh_cache.exists(), "a bad parameter wrote to the run cache"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_default_parameters_resolve_at_every_profile(chapter, fresh_cache):
    for profile in ("smoke", "book", "paper"):
        settings = run_until_settings(chapter, {"profile": profile})["settings"]
        assert settings.profile == profile and settings.claims == (profile != "smoke")
    assert not fresh_cache.exists()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_papermill_documents_every_parameter(chapter):
    # papermill's parser drops a parameter whose comment holds a second "=": every name must reach --help-notebook
    documented = papermill.inspect_notebook(str(chapter))
    assert list(documented) == parameter_names(chapter) and all(p["help"] for p in documented.values())


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_an_unknown_parameter_fails_naming_the_chapters_own(chapter, fresh_cache):
    nb = papermill.parameterize.parameterize_notebook(papermill.iorw.load_notebook_node(str(chapter)), {"sed": 3})
    injected = next(source(c) for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    names = ", ".join(parameter_names(chapter))
    with pytest.raises(ValueError, match=rf"unknown parameter 'sed' .*this chapter's parameters are {names}$"):
        run_until_settings(chapter, {"In": ["", injected]})
    assert not fresh_cache.exists()


def test_papermill_injects_the_parameters(tmp_path):
    chapter = REPO / "book" / "power_division.ipynb"
    nb = papermill.parameterize.parameterize_notebook(papermill.iorw.load_notebook_node(str(chapter)),
                                                      {"op": "add", "steps": 7})
    injected = next(source(c) for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    namespace: dict = {}
    exec(parameters_cell(chapter) + "\n" + injected, namespace)
    assert (namespace["op"], namespace["steps"], namespace["p"]) == ("add", 7, None)


@pytest.mark.slow
def test_book_builds_with_warnings_as_errors(built_book):
    for chapter in CHAPTERS:
        page = (built_book / chapter.relative_to(REPO).with_suffix(".html")).read_text()
        assert "Traceback" not in page
        assert "all checks passed" in page, f"{chapter.name}: its Checks did not print 'all checks passed'"
        assert "Run this chapter" in page and f"{chapter.stem}-paper.ipynb" in page, f"{chapter.name}: no 'Run this chapter' box"
        name = re.search(r"downloads/([\w.-]+\.pt)", page)
        assert name, f"{chapter.name}: no download link"
        files = list(built_book.glob(f"_downloads/*/{name.group(1)}"))
        assert files, f"{chapter.name}: {name.group(1)} not in the build"
        run = load_run(files[0])
        assert run.model() is not None and len(run.steps) > 1, f"{chapter.name}: its download does not load back"
        for figure in figure_names(chapter):
            drawn = re.search(rf'<figure[^>]*id="{figure}".*?</figure>', page, re.S)
            assert drawn and "<img" in drawn.group(0), f"{chapter.name}: figure {figure} is not drawn in the page"
