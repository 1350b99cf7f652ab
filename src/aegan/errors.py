"""The project's own error types.

Every problem a user can fix (bad input, a missing file, an unknown name) is raised as an
:class:`AeganError` whose message names the problem and the way out; the command line prints it
as one line and exits with status 2. Anything else is a bug and keeps its traceback.
"""

import difflib


class AeganError(Exception):
    """A problem the user can fix; its message says how."""


class DataError(AeganError):
    """A data set is missing, damaged, or not in a form aegan reads."""


class ConfigError(AeganError):
    """A configuration value is unknown or out of range."""


class RunError(AeganError):
    """A run folder is missing, incomplete, or would be overwritten."""


class TrainingDiverged(AeganError):
    """A loss or weight became NaN or infinite; the last good checkpoint is kept."""


class UnsafeFile(AeganError):
    """A file could run code when loaded, or would write outside its folder; it is refused."""


class DataMismatch(DataError):
    """Data a model cannot learn from (their kind, shape, value range, labels or roles)."""


class CapabilityMissing(RunError):
    """A run's model cannot do what a command asks (it lacks a capability)."""


def did_you_mean(name: str, known) -> str:
    """``"; did you mean 'x'?"`` for the known name closest to ``name`` (a near miss such as
    ``book/stakced`` or ``fashion_mnist``), or ``""``."""
    known = list(known)
    close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
    if not close:
        return ""
    match = next(k for k in known if k.lower() == close[0])
    return f"; did you mean {match!r}?"
