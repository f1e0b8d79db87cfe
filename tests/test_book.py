import matplotlib
import matplotlib.pyplot as plt
import pytest

from grokutils import plots
from grokutils.profiles import PROFILES, Stopwatch, describe_device, glue, resolve_profile
from test_metrics import fake_history


def test_resolve_profile(monkeypatch):
    monkeypatch.delenv("GROKUTILS_PROFILE", raising=False)
    assert resolve_profile() == "book"
    assert resolve_profile("paper") == "paper"
    monkeypatch.setenv("GROKUTILS_PROFILE", "smoke")
    assert resolve_profile() == "smoke" and resolve_profile("book") == "book"
    with pytest.raises(ValueError, match=r"profile='fast' is not a profile; allowed values: \('smoke', 'book', 'paper'\)"):
        resolve_profile("fast")
    monkeypatch.setenv("GROKUTILS_PROFILE", "huge")
    with pytest.raises(ValueError, match="GROKUTILS_PROFILE='huge'"):
        resolve_profile()
    assert PROFILES == ("smoke", "book", "paper")


def test_describe_device_and_stopwatch():
    assert describe_device("cpu").startswith("cpu (")
    assert Stopwatch().seconds >= 0


def test_glue_returns_value_and_prints_outside_myst(capsys, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    assert glue("answer", 42) == 42
    assert "answer = 42" in capsys.readouterr().out


def test_style_is_explicit_and_plots_return_figures():
    before = matplotlib.rcParams["axes.spines.top"]
    import importlib
    importlib.reload(plots)
    assert matplotlib.rcParams["axes.spines.top"] == before  # importing changes nothing
    plots.style()
    assert matplotlib.rcParams["axes.spines.top"] is False
    h = fake_history([0.0, 0.96, 1.0, 1.0, 1.0], [0.0, 0.01, 0.02, 0.97, 1.0])
    for fig in (plots.plot_curves(h), plots.plot_curves(h, xscale="linear", title="t"),
                plots.mark_steps(plots.plot_curves(h), {"a": 10, "b": None}),
                plots.plot_steps_against([0.3, 0.5], [4000, 2000], "training fraction", unfinished=[0.2])):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)
    fig = plots.plot_curves(h)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[1].get_yscale() == "log"
    assert fig.axes[0].get_xlabel() == "optimisation step"
    plt.close("all")
