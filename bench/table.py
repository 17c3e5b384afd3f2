"""`python -m bench.table` prints bench/results.json as a markdown table; with `--readme README.md` it
also puts the table between the README's `<!-- bench:start -->` and `<!-- bench:end -->` markers, so the
published figures are always the measured ones."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.json")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def markdown(document: dict[str, Any]) -> str:
    lines = ["| Benchmark | Result | Notes |", "| --- | ---: | --- |"]
    for result in document["results"]:
        value = "—" if result["value"] is None else f"{result['value']:,} {result['unit']}"
        lines.append(f"| {_cell(result['name'])} | {value} | {_cell(result['notes'])} |")
    machine = document["machine"]
    lines += [
        "",
        f"Measured {machine['date']} on {machine['platform']} ({machine['cpus']} CPUs), "
        f"Python {machine['python']}, SQLite {machine['sqlite']}.",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def with_table(readme: str, table: str) -> str:
    """The README with the text between the markers replaced by `table`."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the README needs the markers {START} and {END}, in that order")
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.table", description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file (default: %(default)s)")
    parser.add_argument("--readme", type=Path, help="README whose benchmark block is replaced")
    args = parser.parse_args(argv)
    try:
        table = markdown(json.loads(args.results.read_text(encoding="utf-8")))
        if args.readme:
            readme = with_table(args.readme.read_text(encoding="utf-8"), table)
            args.readme.write_text(readme, encoding="utf-8")
    except (OSError, ValueError, KeyError) as exc:
        parser.exit(1, f"bench.table: {exc}\n")
    print(table)


if __name__ == "__main__":
    main()
