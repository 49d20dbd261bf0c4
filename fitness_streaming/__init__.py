"""fitness_streaming: the streaming daemons and data sources.

The simulator and the importers make stream records, the publisher puts them into the Redis
Streams, the storage writer (:mod:`fitness_streaming.writer`) moves them into MongoDB; the exporter
and the dead-letter queue (:mod:`fitness_streaming.dlq`) complete it. It imports only
``fitness_core``; the ``fitness`` commands that drive it live in ``fitness_cli``.
"""
