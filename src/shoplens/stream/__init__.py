"""Real time: the live shop on Kafka, processed into the store, live KPIs and scores.

Public API: :mod:`messages` (message <-> canonical rows), :mod:`producer`
(the simulator driven forward, published to topics), :func:`topology.build_app`
(the Quix Streams processor), :class:`sink.DuckDBSink`, :mod:`windows` (windowed
KPIs recomputed from the stored orders) and :mod:`admin` (topics, offsets, the broker).
"""

import warnings

# quixstreams imports authlib's httpx client, which warns on import (authlib 1.9 vs
# httpx 0.28); the warning is about a library we do not call and would be the first
# line a user sees from every `shoplens stream` command.
warnings.filterwarnings("ignore", message="The httpx module is deprecated")
