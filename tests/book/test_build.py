"""``make book``'s driver (``grokutils.book.build``): chapters in the book's order, their notebooks' settings, where the
build is, and the table of wall times."""
from pathlib import Path

from grokutils.book import build, costs
from grokutils.chapters import power_division

ROOT = Path(__file__).resolve().parents[2]


def test_chapters_follow_the_table_of_contents_and_skip_pages_without_a_notebook():
    names = [nb.stem for nb in build.chapters(ROOT)]
    assert names[0] == "power_division" and "fourier_circuits" in names and "scorecard" not in names
    assert names.index("comprehension_band") < names.index("landscapes_and_norms")  # the landscapes build on its task and pilots
    assert len(names) == len(list((ROOT / "book").glob("*.ipynb")))


def test_settings_come_from_the_notebooks_parameters_cell(monkeypatch):
    monkeypatch.setenv("GROKUTILS_PROFILE", "smoke")
    notebook = ROOT / "book" / "power_division.ipynb"
    assert build.parameters(notebook)["seed"] == 0
    assert build.settings_of(notebook) == power_division.settings("smoke")


def test_a_chapter_says_what_it_misses_and_cost_last_time(monkeypatch, capsys, fresh_cache):
    monkeypatch.setenv("GROKUTILS_PROFILE", "smoke")
    monkeypatch.setattr(build, "run_all", lambda settings, load_many: None)
    notebook = ROOT / "book" / "power_division.ipynb"
    first = build.train_chapter(notebook, 1, 10)
    out = capsys.readouterr().out
    assert f"[1/10] power_division at smoke: {first.total} of {first.total} runs to train" in out
    assert "never built here at this profile" in out
    costs.record("power_division", "smoke", 75.0, 300.0, "cpu (2 threads)")
    build.train_chapter(notebook, 1, 10)
    out = capsys.readouterr().out
    assert f"training {first.total} runs took" in out and "the notebook 1 min 15 s on cpu (2 threads)" in out
    assert costs.measured("power_division")["smoke"]["train_seconds"] == 300.0  # the execution's record is kept


def test_the_table_gives_each_chapters_training_and_notebook_and_marks_cached_pages(fresh_cache):
    costs.record("a", "book", 120.0, 900.0, "cpu")
    since = costs.measured("a")["book"]["recorded_at"]
    costs.record("b", "book", 30.0, 60.0, "cpu")
    trained = [build.Trained("a", 3, 5, 600.0), build.Trained("b", 0, 2, 1.0), build.Trained("c", 0, 1, 0.5)]
    text = build.table(trained, "book", since, 200.0)
    lines = text.splitlines()
    assert lines[1].split()[:2] == ["a", "3/5"] and "10 min 0 s" in lines[1] and "12 min 0 s" in lines[1]
    assert "30 s" in lines[2] and "page cached" in lines[3]
    assert "all chapters" in lines[4] and "12 min 32 s" in lines[4]
    assert "jupyter-book build (the notebooks and the pages): 3 min 20 s" in text
