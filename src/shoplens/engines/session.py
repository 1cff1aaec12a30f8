"""Starting Spark for shoplens: checks first, then one quiet session per process.

Before the JVM starts, :func:`spark_session` checks what would otherwise fail slowly
or with a stack trace: pyspark installed (the ``spark`` extra), Java 17 or newer
(``java -version``), and for a ``spark://`` master that its TCP port answers (within
a few seconds, instead of Spark's own ~70 s of retries).

Session settings (issue #10 facts): ``spark.sql.session.timeZone=UTC`` at start (each
engine then sets its shop's zone on its own child session), ``PYSPARK_PYTHON`` = this
interpreter (Python workers must import the same packages), no UI, no console progress
and error-only logs.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shoplens.errors import EngineError

__all__ = ["MIN_JAVA", "check_java", "check_master", "require_pyspark", "spark_session"]

MIN_JAVA = 17
MASTER_TIMEOUT_S = 3.0
_LOG4J = Path(__file__).with_name("log4j2.properties")
_LOCAL = re.compile(r"^local(\[(\*|\d+)(,\d+)?\])?$")


def require_pyspark() -> Any:
    """Import pyspark, or raise a user error naming the extra to install."""
    try:
        with warnings.catch_warnings():  # "pandas >= 3 is not fully supported": not ours
            warnings.simplefilter("ignore", FutureWarning)
            import pyspark
            from pyspark.sql import SparkSession  # noqa: F401
    except ImportError:
        raise EngineError("the Spark engine needs pyspark: pip install 'shoplens[spark]'") from None
    return pyspark


def _java_executable() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.exists() else None
    return shutil.which("java")


def check_java() -> int:
    """The major version of the Java Spark will use; raise unless it is 17+."""
    java = _java_executable()
    if java is None:
        raise EngineError(
            f"the Spark engine needs Java {MIN_JAVA} or newer, and no java was found"
            " (install a JDK, e.g. 'apt-get install openjdk-17-jre-headless', or set JAVA_HOME)"
        )
    try:
        run = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"cannot run {java} -version: {exc}") from None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', run.stderr + run.stdout)
    if m is None:
        raise EngineError(f"cannot read the Java version from '{java} -version'")
    major = int(m.group(1))
    if major == 1 and m.group(2):  # "1.8.0_392" is Java 8
        major = int(m.group(2))
    if major < MIN_JAVA:
        raise EngineError(
            f"the Spark engine needs Java {MIN_JAVA} or newer; {java} is Java {major}"
            " (install a newer JDK or point JAVA_HOME at one)"
        )
    return major


def check_master(master: str) -> None:
    """Accept ``local[...]``; for ``spark://host:port[,host:port]`` one port must answer."""
    if _LOCAL.match(master):
        return
    if not master.startswith("spark://"):
        if master.startswith(("yarn", "k8s://", "mesos://")):
            return  # the cluster manager's client checks it
        raise EngineError(
            f"unknown Spark master {master!r} (expected local[N] or spark://HOST:PORT)"
        )
    errors = []
    for hostport in master.removeprefix("spark://").split(","):
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            raise EngineError(f"bad Spark master {master!r} (expected spark://HOST:PORT)")
        try:
            with socket.create_connection((host, int(port)), timeout=MASTER_TIMEOUT_S):
                return
        except OSError as exc:
            errors.append(f"{hostport}: {exc.strerror or exc}")
    raise EngineError(f"Spark master {master} is unreachable ({'; '.join(errors)})")


def _local_cores(master: str) -> int:
    m = _LOCAL.match(master)
    if m and m.group(2) and m.group(2).isdigit():
        return int(m.group(2))
    return os.cpu_count() or 2


def _quiet_python_loggers() -> None:
    """pyspark logs every failed query as a JSON line with a Java stack trace; the CLI
    reports the error itself in one line."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


@contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Point file descriptor 2 at ``path`` while the JVM starts (it keeps that stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


_SESSION: dict[str, Any] = {}


def spark_session(
    master: str = "local[2]",
    *,
    driver_memory: str | None = None,
    conf: dict[str, str] | None = None,
) -> Any:
    """The process's Spark session on ``master`` (created once; checks first).

    A different ``master`` than the running session's stops it and starts a new one.
    ``conf`` adds Spark settings (also from ``SHOPLENS_SPARK_CONF``, ``k=v,k=v``).
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    current = _SESSION.get("session")
    if current is not None and _SESSION.get("master") == master:
        return current
    check_java()
    check_master(master)
    if current is not None:
        current.stop()
        _SESSION.clear()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    java_opts = f"-Dlog4j2.configurationFile={_LOG4J.as_uri()}"
    builder = (
        SparkSession.builder.master(master)
        .appName("shoplens")
        .config("spark.sql.session.timeZone", "UTC")
        # nothing is saved as a Spark table; keep Spark's empty warehouse folder out of
        # the user's working directory
        .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "shoplens-spark"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.log.structuredLogging.enabled", "false")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if _LOCAL.match(master):
        builder = builder.config("spark.sql.shuffle.partitions", str(4 * _local_cores(master)))
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    extra = dict(conf or {})
    for item in filter(None, os.environ.get("SHOPLENS_SPARK_CONF", "").split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise EngineError(f"SHOPLENS_SPARK_CONF: expected key=value, got {item!r}")
        extra[key.strip()] = value.strip()
    for key, value in extra.items():
        builder = builder.config(key, value)
    local_ip = os.environ.get("SPARK_LOCAL_IP")
    if local_ip:
        builder = builder.config("spark.driver.host", local_ip)
    log = Path(tempfile.gettempdir()) / f"shoplens-spark-{os.getpid()}.log"
    try:
        with _stderr_to(log):  # the JVM inherits it: its banner and logs go to the file
            session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: one line, not a Java trace
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(f"Spark could not start on {master}: {first} (log: {log})") from None
    session.sparkContext.setLogLevel("ERROR")
    _quiet_python_loggers()
    _SESSION.update(session=session, master=master)
    return session


def stop_spark() -> None:
    """Stop the process's Spark session, if any."""
    current = _SESSION.pop("session", None)
    _SESSION.clear()
    if current is not None:
        current.stop()
