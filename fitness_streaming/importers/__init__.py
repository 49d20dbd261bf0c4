"""Real wearable exports (Apple Health, FIT, GPX, TCX, Fitbit) and the platform's own tables -> stream records.

:func:`import_path` reads a file, a folder or a zip, converts each file with the importer of its
format (one module per format) and hands the records to a publisher; see ``docs/import.md``.
"""

from .common import FORMATS, Entry, ImportContext, RejectedFile
from .runner import ImportReport, import_path, summary_lines
from .sources import InputError

__all__ = [
    "FORMATS",
    "Entry",
    "ImportContext",
    "ImportReport",
    "InputError",
    "RejectedFile",
    "import_path",
    "summary_lines",
]
