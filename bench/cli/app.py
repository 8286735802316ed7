"""The ``bench`` command group and its entry point. Every expected failure is one ``error:`` line, exit 2."""
from __future__ import annotations

import sys

import click
from rich.markup import escape

from bench.cli.common import err_console
from bench.core.errors import BenchError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="bench")
def cli() -> None:
    """Benchmark text retrieval methods side by side: quality, per-query latency and build cost.

    \b
    Examples:
      bench run                                   # scifact, tfidf + bm25, prints a leaderboard
      bench run --methods bm25,tfidf --dataset msmarco-dl19 --corpus 2k --queries 40 --seed 0
      bench run --methods "bm25:k1=1.2,b=0.75" --dataset scifact --json
      bench datasets                              # where each known dataset is found
      bench methods                               # every method and its parameters
    """


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except BenchError as exc:
        err_console.print(f"[red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # an unwritable folder or a full disk: atomic writes left nothing half-written
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"[red]error:[/] {escape(where + (exc.strerror or str(exc)))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
