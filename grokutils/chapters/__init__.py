"""One module per chapter, named like its notebook: the chapter's settings, numbers and Checks.

Every module exposes the same contract:

- ``settings(profile, **params)``: takes exactly the notebook's papermill parameters, checks each
  (type, range, derived values, device, data files named in ``data_files``) and returns a frozen
  settings dataclass with ``profile``, ``device``, ``seed``, ``claims`` (whether the profile asserts
  the chapter's findings), ``data_files`` and ``describe()``;
- ``measure(...)`` (or one ``measure_<part>(...)`` per part of a long chapter): the chapter's numbers,
  computed from its runs, as a dict;
- ``check(results, settings)``: the chapter's Checks on those numbers (``book.Checks``): prints each
  claim with its measured value and raises AssertionError when one fails.
"""
