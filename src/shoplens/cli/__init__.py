"""The ``shoplens`` command line: parse options, call the library, render the result.

Every command that reads a store takes ``--store`` (default: the ``store`` setting) and
honours the shop's time zone (``--timezone`` or the ``timezone`` setting). User errors
(``ShoplensError``) print one line on stderr and exit with status 1; usage errors exit
with status 2 (Typer's convention).

``core`` holds the Typer app, the shared options and helpers, and ``main``; ``analysis``
the commands over a store (kpis, segments, cohorts, status); ``data`` the commands that
fill or move one (generate, import, export, quality); ``models`` train, evaluate, score
and customer. The commands are registered here,
in the order ``shoplens --help`` lists them.
"""

from __future__ import annotations

from shoplens.cli import analysis, data, models, report
from shoplens.cli.core import app, main

__all__ = ["app", "main"]

app.command("generate")(data.generate_cmd)
app.command("kpis")(analysis.kpis_cmd)
app.command("segments")(analysis.segments_cmd)
app.command("cohorts")(analysis.cohorts_cmd)
app.command("status")(analysis.status_cmd)
app.command("import")(data.import_cmd)
app.command("export")(data.export_cmd)
app.command("quality")(data.quality_cmd)
app.command("train")(models.train_cmd)
app.command("evaluate")(models.evaluate_cmd)
app.command("score")(models.score_cmd)
app.command("customer")(models.customer_cmd)
app.command("report")(report.report_cmd)
app.command("dashboard")(report.dashboard_cmd)
