"""grokutils.book.scorecard: every Finding of every chapter, with the verdict its profile declares."""
from pathlib import Path

from grokutils.book import VERDICTS, scorecard
from grokutils.chapters import circuit_competition


def test_the_scorecard_lists_every_finding_with_its_declared_verdict():
    chapters = scorecard.finding_chapters()
    book_dir = Path(__file__).resolve().parents[2] / "book"
    assert chapters == sorted(p.stem for p in book_dir.glob("*.ipynb")), "every chapter declares its findings"
    book = scorecard.rows("book")
    assert len(book) == sum(len(__import__(f"grokutils.chapters.{c}", fromlist=["FINDINGS"]).FINDINGS) for c in chapters)
    mine = [r for r in book if r["chapter"] == "circuit_competition"]
    assert [r["name"] for r in mine] == [f.name for f in circuit_competition.FINDINGS]
    assert all(r["verdict"] == circuit_competition.BOOK_FINDINGS[r["name"]] for r in mine)
    assert {r["asserted"] for r in book if r["verdict"] == "undecided"} == {"no: undecided is printed, not asserted"}
    assert all(r["asserted"].startswith("no: smoke") for r in scorecard.rows("smoke"))
    assert set(scorecard.counts(book)) <= set(VERDICTS) and sum(scorecard.counts(book).values()) == len(book)
    table = scorecard.markdown(book)
    assert table.count("\n") == len(book) + 1 and "{doc}`circuit_competition`" in table
    assert "{cite}`huang2024unified`" in table
