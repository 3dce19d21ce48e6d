"""entrabr: a terminal app for Microsoft Entra Backup and Recovery."""
__version__ = "0.1.0"
