"""One module per chapter, named like its notebook: the chapter's profiles, runs, numbers, findings and glue.

Every module reads in the same order and exposes the same contract:

- profiles: ``PROFILES``, one typed frozen dataclass (``<Chapter>Profile``) per profile, with the verdict the profile
  declares for each finding; ``settings(profile, **params)`` takes exactly the notebook's papermill parameters,
  checks each (type, range, derived values, device, data files named in ``data_files``) and returns a frozen settings
  dataclass with ``profile``, ``device``, ``seed``, ``mode``, ``claims`` (whether the profile asserts the chapter's
  findings), ``findings`` (the declared verdicts; None where a parameter was turned away from the profile's),
  ``data_files``, ``describe()`` and ``runs()``;
- runs: ``runs()`` names every run as a nest of configs; ``book.run_all(settings, runs.load_or_train_many)`` loads or
  trains them and returns the same nest of Histories;
- numbers: ``measure(...)`` (or one ``measure_<part>(...)`` per part of a long chapter), computed from the runs;
- findings: ``FINDINGS`` (``book.Finding`` records, each declared once), ``evidence`` and ``judged`` (the three
  verdicts), and ``check(results, settings)``: the mechanics and each finding against its declared verdict
  (``book.Checks``), printed with its measured value, raising AssertionError when one fails;
- glue: ``glued(results, settings)``: every number and verdict the prose quotes.
"""
