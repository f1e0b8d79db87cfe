"""What chapters share: profiles, the header and closing line, glue, and the Checks."""
import builtins
import dataclasses
import json
from types import SimpleNamespace

import pytest

from grokutils import book
from grokutils.book import costs, launch, page
from grokutils.chapters import power_division
from grokutils.datafiles import DataFile


def test_resolve_profile(monkeypatch):
    monkeypatch.delenv("GROKUTILS_PROFILE", raising=False)
    assert book.resolve_profile() == "book"
    assert book.resolve_profile("paper") == "paper"
    monkeypatch.setenv("GROKUTILS_PROFILE", "smoke")
    assert book.resolve_profile() == "smoke" and book.resolve_profile("book") == "book"
    with pytest.raises(ValueError, match=r"profile='fast' is not supported; allowed values: \('smoke', 'book', 'paper', None\)"):
        book.resolve_profile("fast")
    monkeypatch.setenv("GROKUTILS_PROFILE", "huge")
    with pytest.raises(ValueError, match="GROKUTILS_PROFILE='huge'"):
        book.resolve_profile()
    assert book.PROFILES == ("smoke", "book", "paper")


def test_describe_device_stopwatch_and_formats():
    assert book.describe_device("cpu").startswith("cpu (")
    assert book.Stopwatch().seconds >= 0
    assert (book.fmt_step(3976), book.fmt_step(None)) == ("3,976", "not reached")
    assert (book.fmt(None), book.fmt(0.5, ".0%"), book.fmt(None, "", "none")) == ("n/a", "50%", "none")
    assert (book.fmt_pct(0.181), book.fmt_pct(None), book.fmt_pct(1.0, 0)) == ("18.1%", "n/a", "100%")


def test_glue_returns_value_and_prints_outside_myst(capsys, monkeypatch):
    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    assert book.glue("answer", 42) == 42
    assert "answer = 42" in capsys.readouterr().out


def settings_like(data_files=()):
    return SimpleNamespace(profile="smoke", device="cpu", seed=3, data_files=data_files,
                           describe=lambda: ["task: something", "model: something else"])


def test_start_prints_the_header(capsys):
    book.start(settings_like())
    out = capsys.readouterr().out
    assert "profile: smoke   device: cpu (" in out and "seed: 3" in out and "model: something else" in out


def test_runs_of_one_batch_count_their_shared_time_once(make_history):
    timed = lambda seconds: dataclasses.replace(make_history([0, 1]), wall_seconds=seconds)  # noqa: E731
    assert book.training_seconds([timed(4.0), timed(4.0), timed(2.5)]) == 6.5
    assert book.training_seconds([]) == 0


def test_finish_records_the_cost_and_glues_the_run_box(capsys, monkeypatch, fresh_cache, make_history):
    glued = {}
    monkeypatch.setattr(page, "glue", lambda name, value, display=False: glued.setdefault(name, value))
    settings = power_division.settings("smoke")
    runs = {"main": make_history([0, 1]), "more": [make_history([0, 1]), make_history([0, 1])]}
    for h, seconds in zip((runs["main"], *runs["more"]), (1.5, 2.0, 3.0)):
        h.wall_seconds = seconds
    book.finish(book.Stopwatch(), settings, runs)
    assert "profile smoke: chapter ran in" in capsys.readouterr().out
    assert costs.measured("power_division")["smoke"]["train_seconds"] == 6.5
    box = glued["run_box"].data
    assert "https://colab.research.google.com/github/" in box and "/blob/main/book/power_division.ipynb" in box
    assert "papermill book/power_division.ipynb" in box and "`op`" in box
    assert "| `smoke` (this page) | 0 s | 6 s |" in box and "| `paper` | not executed here |" in box


def test_cost_records_survive_a_damaged_file_and_keep_other_profiles(fresh_cache):
    costs.costs_file().parent.mkdir(parents=True, exist_ok=True)
    costs.costs_file().write_text("{not json")
    assert costs.measured("x") == {}
    costs.record("x", "book", 10.0, 8.0, "cpu")
    costs.record("x", "smoke", 1.0, 0.5, "cpu")
    assert set(costs.measured("x")) == {"book", "smoke"} and costs.measured("x")["book"]["wall_seconds"] == 10.0


def test_colab_install_cell_and_link_come_from_the_repository_setting(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/someone/fork\n  branch: dev\n")
    repo = launch.repository(config)
    assert repo.colab_url("book/x.ipynb") == "https://colab.research.google.com/github/someone/fork/blob/dev/book/x.ipynb"
    assert 'git+https://github.com/someone/fork@dev"' in repo.install_cell()
    nb = tmp_path / "book" / "x.ipynb"
    nb.parent.mkdir()
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["# Colab only: install grokutils, old\n"]}]}))
    assert launch.sync_install_cells(nb.parent, repo) == [nb]
    assert launch.install_cells_out_of_date(nb.parent, repo) == []
    assert launch.repository(tmp_path / "missing.yml") is None
    with pytest.raises(ValueError, match="repository.url='gitlab.com/x' must be a GitHub address"):
        launch.Repository("gitlab.com/x")


def test_start_checks_the_data_files_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKUTILS_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="missing.bin is missing"):
        book.start(settings_like((DataFile("x", "missing.bin", "0" * 64),)))


def test_checks_report_each_claim_and_fail_loudly(capsys):
    checks = book.Checks(claims=True)
    checks.expect("mechanics hold", 1, True)
    checks.claim("the finding holds", "3 steps", lambda: False)
    with pytest.raises(AssertionError, match=r"failed checks: the finding holds \(measured: 3 steps\)"):
        checks.report()
    out = capsys.readouterr().out
    assert "PASS  mechanics hold  (measured: 1)" in out and "FAIL  the finding holds" in out
    assert "all checks passed" not in out


def test_checks_at_a_profile_without_claims_skip_the_findings(capsys, make_history):
    checks = book.Checks(claims=False)
    checks.claim("never evaluated", lambda: 1 / 0, lambda: 1 / 0)
    checks.finite({"run": make_history([0, 1], train_loss=[1.0, 0.5])})
    assert [c.claim for c in checks.report()] == ["run: every logged metric is finite"]
    assert "only the mechanics" in capsys.readouterr().out
    bad = book.Checks(claims=False)
    bad.finite({"run": make_history([0, 1], val_loss=[1.0, float("inf")])})
    with pytest.raises(AssertionError, match="run: every logged metric is finite"):
        bad.report()


def test_text_table_pads_columns_to_their_widest_cell():
    table = book.text_table(["run", "delay"], [["baseline", "31,500"], ["ce", "n/a"]])
    assert table.splitlines() == ["run       delay", "--------  ------", "baseline  31,500", "ce        n/a"]


def test_turn_replaces_the_given_knobs_and_says_whether_any_differs():
    @dataclasses.dataclass(frozen=True)
    class Profile:
        steps: int
        findings: dict

    preset = Profile(100, {"a": "holds"})
    assert book.turn(preset) == (preset, False) and book.turn(preset, steps=None) == (preset, False)
    assert book.turn(preset, steps=100) == (preset, False)
    assert book.turn(preset, steps=200) == (Profile(200, {"a": "holds"}), True)


def test_check_parameters_names_an_injected_unknown_parameter():
    def settings(profile=None, seed=0, device=None):
        return profile, seed, device

    book.check_parameters({}, settings)  # outside IPython: nothing to check
    book.check_parameters({"In": ["", "seed = 3  # a cell of the reader's", "# Parameters\nseed = 3\n"]}, settings)
    with pytest.raises(ValueError, match="unknown parameter 'sed' .* parameters are profile, seed, device"):
        book.check_parameters({"In": ["", "# Parameters\nseed = 3\nsed = 3\n"]}, settings)
