"""The ``shoplens`` command line: parse options, call the library, render the result.

Every command that reads a store takes ``--store`` (default: the ``store`` setting) and
honours the shop's time zone (``--timezone``, else the zone the store records, else the
``timezone`` setting). User errors
(``ShoplensError``) print one line on stderr and exit with status 1; usage errors exit
with status 2 (Typer's convention).

``core`` holds the Typer app, the shared options and helpers, and ``main``; ``analysis``
the commands over a store (kpis, segments, cohorts, status); ``data`` the commands that
fill or move one (generate, import, export, quality); ``models`` train, evaluate, score
and customer; ``report`` the report and the dashboard; ``stream`` the Kafka sub-commands;
``engine`` the ``--source``/``--engine`` options. The commands are registered here, in
the order ``shoplens --help`` lists them.
"""

from __future__ import annotations

from shoplens.cli import analysis, data, models, report
from shoplens.cli.core import app, main
from shoplens.cli.params import Command
from shoplens.cli.stream import stream_app

__all__ = ["app", "main"]

app.command("generate", cls=Command)(data.generate_cmd)
app.command("kpis", cls=Command)(analysis.kpis_cmd)
app.command("segments", cls=Command)(analysis.segments_cmd)
app.command("cohorts", cls=Command)(analysis.cohorts_cmd)
app.command("status", cls=Command)(analysis.status_cmd)
app.command("import", cls=Command)(data.import_cmd)
app.command("export", cls=Command)(data.export_cmd)
app.command("quality", cls=Command)(data.quality_cmd)
app.command("train", cls=Command)(models.train_cmd)
app.command("evaluate", cls=Command)(models.evaluate_cmd)
app.command("score", cls=Command)(models.score_cmd)
app.command("customer", cls=Command)(models.customer_cmd)
app.command("report", cls=Command)(report.report_cmd)
app.command("dashboard", cls=Command)(report.dashboard_cmd)
app.add_typer(stream_app, name="stream")
