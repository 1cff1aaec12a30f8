"""Helpers shared by the benchmark scripts: command line, worker subprocesses, RSS,
table printing, agreement checks."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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


def base_parser(doc: str | None, *, quick_help: str) -> argparse.ArgumentParser:
    """A parser with the options every benchmark has: ``--seed``, ``--quick``, ``--out``
    and the hidden ``--worker ours|baseline`` (see :func:`run_as_worker`).

    The description is the first paragraph of ``doc`` (the script's docstring).
    """
    ap = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    ap.add_argument("--worker", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    return ap


def run_as_worker(side: str | None, workers: Mapping[str, Callable[[], dict[str, Any]]]) -> bool:
    """In a worker process (``--worker SIDE``): run ``workers[side]``, :func:`emit` its
    result and return True; in the parent (``side`` None) return False."""
    if side is None:
        return False
    emit(workers[side]())
    return True


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


@dataclass
class Check:
    """One agreement check between the two sides' results."""

    name: str
    rows: int
    detail: str
    ok: bool


def print_checks(checks: Sequence[Check]) -> bool:
    """Print the agreement table; True if every check agrees."""
    print_table(
        ["agreement check", "rows", "result", "detail"],
        [[c.name, fmt_int(c.rows), "OK" if c.ok else "DIFFERS", c.detail] for c in checks],
    )
    return all(c.ok for c in checks)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def write_json(path: str | Path | None, payload: dict[str, Any]) -> None:
    if path is None:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"results written to {p}")
