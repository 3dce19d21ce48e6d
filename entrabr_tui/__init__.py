"""entrabr: a terminal app for Microsoft Entra Backup and Recovery."""

#: The one place the version is written: the package metadata (pyproject's dynamic version) reads it here.
__version__ = "0.1.0"
