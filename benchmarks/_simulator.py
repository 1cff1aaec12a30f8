"""Our side of the generation: build a store file with shoplens' simulator, timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from shoplens.generate import GenerationSummary, SimulationParams, generate_into
from shoplens.store import write_new_store

Progress = Callable[[str, int, int], None]
"""``on_progress(stage, done, total)``, as ``generate_into`` calls it."""


class GeneratedStore(NamedTuple):
    """One timed run of :func:`generate_store`."""

    seconds: float
    """Wall seconds of ``write_new_store`` as a whole: generate + load, keys, checkpoint
    and rename."""
    cpu_seconds: float
    """Process CPU seconds (all threads) over the same span."""
    summary: GenerationSummary
    """Rows per table and seconds per stage, as ``generate_into`` returns them."""

    @property
    def checkpoint_seconds(self) -> float:
        """What ``generate_into`` does not time: the checkpoint and rename."""
        return self.seconds - self.summary.total_seconds


def generate_store(
    path: Path, params: SimulationParams, on_progress: Progress | None = None
) -> GeneratedStore:
    """Simulate ``params`` into a new store at ``path`` (replaced if it exists), as
    ``shoplens generate`` does: ``write_new_store(path, generate_into(con, params))``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    result: list[GenerationSummary] = []
    c0, t0 = time.process_time(), time.perf_counter()
    write_new_store(
        path, lambda con: result.append(generate_into(con, params, on_progress)), overwrite=True
    )
    seconds = time.perf_counter() - t0
    return GeneratedStore(seconds, time.process_time() - c0, result[0])
