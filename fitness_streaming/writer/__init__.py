"""The storage writer: Redis Streams into MongoDB (consumer group ``storage-writer``).

This package's surface is what the ``fitness write``/``fitness status`` commands, the demo and the
tests use: run the writer, replay the retention window, report the backlog. The parts live in
their own modules so each can be read and tested alone:

- :mod:`~fitness_streaming.writer.daemon`: the loop (read, transform, write, acknowledge) and its runners
- :mod:`~fitness_streaming.writer.batch`: the pure transform of entries into documents and dead letters
- :mod:`~fitness_streaming.writer.group`: the consumer group (read, reclaim, acknowledge, dead-letter)
- :mod:`~fitness_streaming.writer.store`: bulk writes into MongoDB and their per-document outcomes
- :mod:`~fitness_streaming.writer.retry`: waiting out store and Redis outages, the free-disk guard
- :mod:`~fitness_streaming.writer.status`: group lag, pending counts, the status report
- :mod:`~fitness_streaming.writer.trim`: trimming acknowledged entries outside the retention window
- :mod:`~fitness_streaming.writer.replay`: writing the retained window again after a store restart
"""

from fitness_streaming.writer.daemon import (
    StorageWriter,
    WriterConfig,
    WriterStats,
    run_replay,
    run_writer,
    status_report,
)
from fitness_streaming.writer.replay import ReplayResult, parse_since
from fitness_streaming.writer.status import GROUP, format_status

__all__ = [
    "GROUP",
    "ReplayResult",
    "StorageWriter",
    "WriterConfig",
    "WriterStats",
    "format_status",
    "parse_since",
    "run_replay",
    "run_writer",
    "status_report",
]
