"""The log archive: the embedded broker's log kept in the database, and written back into
an empty broker before anything reads it (docs/design.md, "Restarts")."""

from hub.archive.identity import Mark, read_mark
from hub.archive.refill import LogNotReady, LogState, RefillFailed, prepare_log
from hub.archive.writeahead import DatabaseWriteAhead

__all__ = ["DatabaseWriteAhead", "LogNotReady", "LogState", "Mark", "RefillFailed", "prepare_log", "read_mark"]
