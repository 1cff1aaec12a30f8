"""The ``shoplens`` executable: signal handlers first, then the CLI.

Importing the CLI (DuckDB, pyarrow, pandas, Typer) takes a second or more on a busy
machine; the handlers are installed before, so a Ctrl-C or SIGTERM during start-up
says one line and exits 130 or 143 like one during a command.
"""

from __future__ import annotations

import sys

from shoplens import signals


def main() -> None:
    signals.install()
    try:
        from shoplens.cli import main as cli_main
    except (KeyboardInterrupt, signals.Terminated):
        signum = signals.stopped_by()
        if signum is None:
            raise
        print(signals.MESSAGES[signum], file=sys.stderr)
        sys.exit(signals.exit_code(signum))
    cli_main()
