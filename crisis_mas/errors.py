"""User-facing errors: each carries one line that names the problem (the CLI exits 2 on them)."""


class CrisisMasError(Exception):
    """Base class for errors a user can fix by changing their input or config."""


class InputError(CrisisMasError):
    """Bad user input: a missing file, malformed YAML/JSON, a wrong type, an unknown id."""
