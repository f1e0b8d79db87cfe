"""The chapter contract, for every chapter: its Checks fail on the null fixture (runs in which nothing learns), its
findings are declared once and judged with the three verdicts, and ``smoke`` asserts only the mechanics."""
import importlib
import json
from pathlib import Path

import papermill
import pytest

from grokutils import dryrun
from grokutils.book import VERDICTS, Finding, asserts_findings

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("*.ipynb"))
FINDING_CHAPTERS = ("circuit_competition", "comprehension_band", "interventions_and_operations", "landscapes_and_norms",
                    "fourier_circuits", "lu_mechanism", "mnist_ablations", "models_and_encodings", "omnigrok_mnist",
                    "power_division", "what_speeds_up_grokking", "softmax_collapse", "phase_diagrams")
"""Every chapter: its findings are ``Finding`` records (issue 27)."""


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_checks_fail_on_the_null_fixture(chapter, tmp_path, monkeypatch):
    """Every chapter executed at ``book`` on runs in which nothing learns (accuracy at chance, the loss falling by
    0.001): it runs to its Checks, and they fail. A chapter whose Checks pass here asserts something no run can fail."""
    monkeypatch.setenv(dryrun.DRY_RUN_ENV, "null")
    monkeypatch.setenv("GROKUTILS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(chapter), str(out), parameters={"profile": "book"}, cwd=str(tmp_path),
                                   progress_bar=False)
    assert err.value.ename == "AssertionError" and "failed checks" in err.value.evalue, err.value.evalue
    cells = json.loads(out.read_text())["cells"]
    failed = next(c for c in cells if c.get("outputs") and any(o.get("ename") for o in c["outputs"]))
    assert "check(" in "".join(failed["source"]), "the null fixture stopped the chapter before its Checks"
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("slug", FINDING_CHAPTERS)
def test_findings_are_declared_once_and_every_profile_declares_a_verdict_for_each(slug):
    chapter = importlib.import_module(f"grokutils.chapters.{slug}")
    names = [f.name for f in chapter.FINDINGS]
    assert all(isinstance(f, Finding) for f in chapter.FINDINGS) and len(set(names)) == len(names)
    assert all(f.claim and f.source and f.measure for f in chapter.FINDINGS)
    references = (BOOK / "references.bib").read_text()
    assert all(f"{{{f.source}," in references for f in chapter.FINDINGS), "every finding cites a source of the book"
    for profile in ("smoke", "book", "paper"):
        s = chapter.settings(profile)
        assert list(s.findings) == names and set(s.findings.values()) <= set(VERDICTS)
        assert s.claims == asserts_findings(profile)


@pytest.mark.parametrize("slug", FINDING_CHAPTERS)
def test_glue_quotes_every_verdict(slug):
    """The glue has a ``verdict_<name>`` for every finding, and the notebook quotes each one."""
    chapter = importlib.import_module(f"grokutils.chapters.{slug}")
    text = (BOOK / f"{slug}.ipynb").read_text()
    assert all(f"verdict_{f.name}`" in text for f in chapter.FINDINGS)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_module_reads_in_the_contract_s_order(chapter):
    """profiles, runs, numbers, findings, glue: ``settings`` before ``run_all``/``measure`` before ``check`` before
    ``glued``, wherever a module has them."""
    source = (Path(importlib.import_module(f"grokutils.chapters.{chapter.stem}").__file__)).read_text()
    order = [source.find(f"\ndef {name}(") for name in ("settings", "measure", "check", "glued")]
    present = [i for i in order if i >= 0]
    assert present == sorted(present) and order[0] >= 0 and order[2] >= 0


def test_every_figure_has_a_caption_and_a_name():
    """Every cell that draws a figure carries a MyST-NB caption saying what to look at, and a name unique in the
    book (so prose can refer to it)."""
    names = []
    for chapter in CHAPTERS:
        for cell in json.loads(chapter.read_text())["cells"]:
            if cell["cell_type"] == "code" and "plt.show()" in "".join(cell["source"]):
                figure = cell["metadata"].get("mystnb", {}).get("figure", {})
                assert len(figure.get("caption", "")) > 40, f"{chapter.stem}: a figure without a caption"
                names.append(figure.get("name"))
    assert None not in names and len(set(names)) == len(names)
