"""The one base of lmf's own errors, so a caller catches every failure lmf explains in one clause.

    try:
        ...
    except lmf.errors.LmfError as e:   # bad data, a broken artifact, an export that cannot be made ...
        print(f"error: {e}")

Each error class subclasses LmfError and also the built-in its callers caught before it existed
(ValueError for bad input, RuntimeError for a broken file), so `except ValueError` still works.
Standard library only, at the bottom of the package. Deliberately not here: the subclasses
themselves, which live beside the code that raises them (lmf.data.DataError,
lmf.layout.ArtifactError, lmf.export.ExportError, lmf.runtime.ExportIntegrityError, ...).
"""


class LmfError(Exception):
    """A failure lmf explains in its message: what is wrong and, where there is one, what to do."""
