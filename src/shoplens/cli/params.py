"""Plain words on the command line: date options, help placeholders, option names in errors.

Typer's defaults speak its own language (``<%Y-%m-%d>``, ``{SOURCE}``, ``'2025-13-01'
does not match the formats '%Y-%m-%d'``, a library field name such as ``end_date``).
Here a day is ``YYYY-MM-DD``, help shows ``INTEGER`` or ``FILE`` instead of ``<int>``, and
messages name options as the user types them (``--end``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import typer
from typer.core import TyperCommand

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DAY_METAVAR = "YYYY-MM-DD"


def parse_day(text: str) -> date:
    """A calendar day written ``YYYY-MM-DD`` (Typer ``parser=`` of the date options)."""
    text = text.strip()
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-03-31"
        ) from None


_LABELS = {
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "NUMBER",
    "float range": "NUMBER",
    "str": "TEXT",
    "path": "FILE",
    "bool": "",
}


def _plain_label(match: re.Match[str]) -> str:
    label = match.group(1)
    if label in _LABELS:
        return _LABELS[label]
    if "|" in label:
        return f"[{label}]"
    return label.upper()


def plain(text: str) -> str:
    """``--customers <int>`` -> ``--customers INTEGER``; ``{SOURCE}`` -> ``SOURCE``."""
    text = re.sub(r"<([^<>]+)>", _plain_label, text)
    return re.sub(r"\{([A-Z_]+)\}", r"\1", text).rstrip()


class Command(TyperCommand):
    """A Typer command whose usage line and help use plain placeholders."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [plain(p) for p in super().collect_usage_pieces(ctx)]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args: list[tuple[str, str]] = []
        opts: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            name, help_text = record
            if param.param_type_name == "argument":
                name = str(param.metavar or param.name or "").upper() or plain(name)
            (args if param.param_type_name == "argument" else opts).append((plain(name), help_text))
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        if opts:
            with formatter.section("Options"):
                formatter.write_dl(opts)


def option_names(message: str, names: dict[str, str]) -> str:
    """Replace library field names (``end_date``) in ``message`` by their options (``--end``)."""
    fields = "|".join(re.escape(f) for f in sorted(names, key=len, reverse=True))
    return re.sub(rf"(?<![\w-])({fields})(?![\w-])", lambda m: names[m.group(1)], message)
