"""Small real source files for the import tests, and helpers to read stores back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

# UCI "Online Retail II" spelling. Line numbers (the header is line 1) in comments.
UCI_CSV = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
489434,85048,GLASS BALL,12,12/1/2010 7:45,6.95,13085.0,United Kingdom
489434,79323P,CHERRY LIGHTS,12,12/1/2010 7:45,6.75,13085.0,United Kingdom
489434,85048,GLASS BALL,12,12/1/2010 7:45,6.95,13085.0,United Kingdom
489435,22350,CAT BOWL,2,12/1/2010 7:46,2.55,,United Kingdom
,,,,,,,
C489436,85048,GLASS BALL,-3,12/2/2010 9:00,6.95,13085.0,United Kingdom
489437,22350,CAT BOWL,-1,12/13/2010 10:00,2.55,13086.0,France
489438,B,Adjust bad debt,1,12/14/2010 11:00,-100.00,,United Kingdom
489439,22350,CAT BOWL,1,13/45/2010 11:00,2.55,13086.0,France
489440,22350,CAT BOWL,4,12/20/2010 12:00,2.55,13086.0,France
489440,POST,POSTAGE,1,12/20/2010 12:00,0,13086.0,France
489441,85048,GLASS BALL,2,12/21/2010 9:00,6.95,13085,United Kingdom
489441,22350,CAT BOWL,-1,12/21/2010 9:00,2.55,13085,United Kingdom
489442,22350,CAT BOWL,500,12/22/2010 9:00,2.55,13086.0,France
489443,22350,CAT BOWL,1,12/31/2099 9:00,2.55,13086.0,France
"""
# line 2-3: order 489434; 4: exact duplicate of 2; 5: guest order; 6: empty;
# 7: cancellation (C prefix); 8: return (negative quantity); 9: negative price;
# 10: unparseable date; 11-12: order with a free line; 13-14: order with a mixed-sign
# return line; 15: quantity outlier; 16: future date.

# The older spelling, ISO timestamps: the same three orders twice over.
UCI_OLD_CSV = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom
536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,17850,United Kingdom
C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527,United Kingdom
"""

SHOPIFY_CSV = """\
Name,Email,Financial Status,Fulfillment Status,Created at,Lineitem quantity,Lineitem name,\
Lineitem price,Lineitem sku,Discount Code,Discount Amount,Billing Name,Billing Country,\
Currency,Cancelled at
#1001,Ann@Example.com,paid,fulfilled,2024-03-01 10:15:00 +0100,2,Blue Mug,12.50,MUG-B,\
SPRING10,2.50,Ann Lee,DE,EUR,
#1001,,,,,1,Red Mug,14.00,MUG-R,,,,,,
#1002,bob@example.com,refunded,fulfilled,2024-03-02 18:00:00 +0100,1,Teapot,30.00,,,0.00,\
Bob Ray,FR,EUR,
#1003,ann@example.com,pending,,2024-03-05 09:30:00 +0100,3,Blue Mug,12.50,MUG-B,,0.00,\
Ann Lee,DE,EUR,2024-03-05 12:00:00 +0100
#1004,carl@example.com,voided,,2024-03-06 08:00:00 +0100,1,Red Mug,14.00,MUG-R,,0.00,\
Carl Mo,DE,EUR,
#1005,ann@example.com,mystery,,2024-03-07 20:00:00 +0100,1,Teapot,30.00,,WELCOME,5.00,\
Ann Lee,AT,EUR,
#1005,,,,,2,Blue Mug,12.50,MUG-B,,,,,,
"""

# A German shop export: ';' delimiter, decimal comma, day-first dates, local time.
CUSTOM_CSV = """\
Bestellung;Datum;Kunde;Artikel;Kategorie;Menge;Preis;Status;Land
A-1;05.03.2024 14:30;K1;Stift;Büro;2;1,50;ok;DE
A-1;05.03.2024 14:30;K1;Heft;Büro;1;2,00;ok;DE
A-2;06.03.2024 09:00;K2;Stift;Büro;1;1,50;storniert;AT
A-3;07.07.2024 23:30;K1;Tasse;Küche;4;3,25;retour;DE
"""

CUSTOM_TOML = """\
date_format = "%d.%m.%Y %H:%M"
timezone = "Europe/Berlin"
currency = "EUR"
decimal_separator = ","

[columns]
order_id = "Bestellung"
order_ts = "Datum"
customer_id = "Kunde"
product_name = "Artikel"
category = "Kategorie"
quantity = "Menge"
unit_price = "Preis"
country = "Land"

[status]
column = "Status"
completed = ["ok"]
cancelled = ["storniert"]
returned = ["retour"]
"""

AMBIGUOUS_CSV = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
1,A,Thing,1,01/02/2024 10:00,1.00,7,DE
2,A,Thing,1,03/04/2024 10:00,1.00,7,DE
"""


def write(tmp: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp / name
    path.write_text(text, encoding=encoding)
    return path


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the store file, sorted: to compare a store before and after."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        con.close()
