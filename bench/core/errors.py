"""The one error type users see.

Every expected failure (bad input file, unknown method, missing model, offline download) is
raised as :class:`BenchError`; the CLI prints its message as a single line and exits with 2.
Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations


class BenchError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def at_line(path: object, line_number: int, message: str) -> BenchError:
    """An error that points at ``file:line`` so the user can open the culprit directly."""
    return BenchError(f"{path}:{line_number}: {message}")


def read_toml(path) -> dict:
    """Parse a TOML file, turning a missing file or a syntax error into one clear line."""
    import tomllib
    from pathlib import Path

    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"{path}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: invalid TOML ({exc})") from None
