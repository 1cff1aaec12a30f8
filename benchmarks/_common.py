"""Helpers shared by the benchmark scripts: worker subprocesses, RSS, table printing."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "benchmarks" / ".data"
WORKER_TAG = "@@BENCH-RESULT@@ "


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict[str, Any]) -> None:
    """Hand a worker's result to the parent (one tagged JSON line on stdout)."""
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(WORKER_TAG + json.dumps(result), flush=True)


def run_worker(script: Path, args: Sequence[str]) -> dict[str, Any]:
    """Run ``script --worker ...`` in a fresh interpreter and return what it emitted.

    Each side runs in its own process so its peak RSS (``ru_maxrss``) is its own; the
    worker's stderr (progress, warnings) passes through.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), str(REPO / "src"), env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(WORKER_TAG):
            result: dict[str, Any] = json.loads(line[len(WORKER_TAG) :])
            return result
    sys.stdout.write(proc.stdout)
    raise RuntimeError(f"worker {script.name} {' '.join(args)} failed (exit {proc.returncode})")


def fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a plain fixed-width table (first column left-aligned, the rest right)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for r in cells[1:]:
        print(line(r))


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def write_json(path: str | Path | None, payload: dict[str, Any]) -> None:
    if path is None:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"results written to {p}")
