"""Real time: the live shop on Kafka, processed into the store, live KPIs and scores.

Public API: :mod:`messages` (message <-> canonical rows), :mod:`producer`
(the simulator driven forward, published to topics), :func:`topology.build_app`
(the Quix Streams processor), :class:`sink.DuckDBSink`, :mod:`windows` (windowed
KPIs recomputed from the stored orders) and :mod:`admin` (topics, offsets, the broker).
"""
