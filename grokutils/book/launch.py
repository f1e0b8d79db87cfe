"""How a reader runs a chapter outside the built book: Colab and papermill, from one setting.

The repository address and branch in ``_config.yml`` (``repository.url``, ``repository.branch``) drive
both Jupyter Book's launch buttons and each chapter's Colab install cell; ``python -m grokutils.book.launch``
rewrites the install cells after that setting changes (a test fails while they disagree). In Colab the
cell installs ``grokutils`` from that repository and keeps Colab's own torch, which ``grokutils`` does
not pin.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root when grokutils is installed from a checkout (``pip install -e .``)."""
INSTALL_MARK = "# Colab only: install grokutils"
"""The first line of every chapter's install cell."""


@dataclass(frozen=True)
class Repository:
    """Where the book's sources live.

    Attributes:
        url: the GitHub address, e.g. ``https://github.com/owner/name``.
        branch: the branch the launch buttons and the install cell use.
    """

    url: str
    branch: str = "main"

    def __post_init__(self):
        if not self.url.startswith("https://github.com/") or len(self.url.rstrip("/").split("/")) != 5:
            raise ValueError(f"repository.url={self.url!r} must be a GitHub address https://github.com/<owner>/<name>")

    @property
    def slug(self) -> str:
        """``owner/name``."""
        return "/".join(self.url.rstrip("/").split("/")[3:5])

    def colab_url(self, notebook: str) -> str:
        """Colab's address for ``notebook`` (a path in the repository, e.g. ``book/power_division.ipynb``)."""
        return f"https://colab.research.google.com/github/{self.slug}/blob/{self.branch}/{notebook}"

    def install_cell(self) -> str:
        """The source of a chapter's install cell: a no-op outside Colab."""
        return (f"{INSTALL_MARK} and what it needs (does nothing elsewhere).\n"
                "import sys\n"
                'if "google.colab" in sys.modules:\n'
                f'    %pip install -q "grokutils @ git+{self.url.rstrip("/")}@{self.branch}"')


def repository(config: Path = ROOT / "_config.yml") -> Repository | None:
    """The ``repository`` section of the book's ``_config.yml``, or None where there is no such file (Colab)."""
    if not config.exists():
        return None
    import yaml  # only here: reading the book's settings is not needed to train or analyse

    section = (yaml.safe_load(config.read_text()) or {}).get("repository") or {}
    if "url" not in section:
        raise ValueError(f"{config}: repository.url is not set")
    return Repository(url=section["url"], branch=section.get("branch", "main"))


def install_cells_out_of_date(book_dir: Path = ROOT / "book", repo: Repository | None = None) -> list[Path]:
    """The notebooks in ``book_dir`` whose install cell differs from ``repo``'s (default: ``_config.yml``'s)."""
    repo = repo or repository()
    return [nb for nb in sorted(book_dir.glob("*.ipynb")) if _install_source(nb) != repo.install_cell()]


def sync_install_cells(book_dir: Path = ROOT / "book", repo: Repository | None = None) -> list[Path]:
    """Rewrite the install cell of every notebook that is out of date; return those rewritten."""
    repo = repo or repository()
    stale = install_cells_out_of_date(book_dir, repo)
    for path in stale:
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith(INSTALL_MARK))
        cell["source"] = repo.install_cell().splitlines(keepends=True)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return stale


def _install_source(path: Path) -> str | None:
    cells = json.loads(path.read_text())["cells"]
    return next(("".join(c["source"]) for c in cells if "".join(c["source"]).startswith(INSTALL_MARK)), None)


if __name__ == "__main__":
    for rewritten in sync_install_cells():
        print(f"rewrote the install cell of {rewritten.relative_to(ROOT)}")
