"""What every chapter shares, once: its profiles and seeds (``profiles``), its findings and Checks (``findings``),
how it writes numbers (``fmt``), how its runs are loaded or trained (``runset.run_all``), and its page (``page``: header, glue, closing line, "Run this chapter" box,
downloads; ``costs`` and ``launch`` behind it), and the book's scorecard of every finding (``scorecard``). ``build`` is
``make book``'s driver (``python -m grokutils.book.build``), not imported here.

The names a chapter module or notebook uses are here, so ``from grokutils.book import Checks, glue`` reads them.
"""
from grokutils.book.findings import (DOES_NOT_HOLD, HOLDS, NOT_TESTED, UNDECIDED, VERDICTS, Check, Checks, Evidence,
                                     Finding, Verdict, judge, judge_all, verdict_glue)
from grokutils.book.fmt import MISSING, NOT_REACHED, fmt, fmt_fraction, fmt_pct, fmt_step, text_table
from grokutils.book.page import (Stopwatch, describe_device, finish, glue, offer_download, run_box, start,
                                 training_seconds)
from grokutils.book.profiles import (PROFILE_ENV, PROFILES, SEED_LIMIT, asserts_findings, check_odd_knob,
                                     check_parameters, check_seed, resolve_profile, turn)
from grokutils.book.runset import run_all

__all__ = ["DOES_NOT_HOLD", "HOLDS", "NOT_TESTED", "UNDECIDED", "VERDICTS", "Check", "Checks", "Evidence", "Finding",
           "Verdict", "judge", "judge_all", "verdict_glue", "MISSING", "NOT_REACHED", "fmt", "fmt_fraction", "fmt_pct",
           "fmt_step", "text_table", "Stopwatch", "describe_device", "finish", "glue", "offer_download", "run_box",
           "start", "training_seconds", "PROFILE_ENV", "PROFILES", "SEED_LIMIT", "asserts_findings", "check_odd_knob",
           "check_parameters", "check_seed", "resolve_profile", "run_all", "turn"]
