"""The ``balancers`` command line (also ``python -m balancers``).

Each subcommand lives in its own module ``balancers.cli._<name>_command`` that defines
``register(subparsers)``; ``register`` adds the parser and sets ``func`` to a callable taking the
parsed arguments and returning an exit code. Bad input, and an output path that cannot be
written, exit with code 2 and a one-line message.

``--help``, ``--version`` and argument errors import neither torch nor torchvision: the command
modules import them inside ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["CommandError", "main"]

#: subcommand modules, in the order ``--help`` lists them
_COMMANDS: tuple[str, ...] = ("demo", "describe", "split", "materialize")


class CommandError(Exception):
    """A user error on the command line: printed as one line, exit code 2."""


class _OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (plus exit code 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def installed_version() -> str:
    """The installed distribution's version (package metadata, without importing torch)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("balancers")
    except PackageNotFoundError:  # run from a source tree that is not installed
        from .. import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="balancers",
        description="Class-imbalance tools for PyTorch: diagnostics, long-tailed splits, "
        "augmentation-based oversampling and a demo of balancing strategies.",
    )
    parser.add_argument("--version", action="version", version=f"balancers {installed_version()}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_OneLineParser
    )
    for name in _COMMANDS:
        importlib.import_module(f"{__name__}._{name}_command").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader of our output went away (``balancers describe --json | head``): stop quietly.
        # Python would flush stdout again at exit and fail the same way, so point it at devnull.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a process stopped by a closed pipe
    except (CommandError, ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"balancers {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"balancers {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)
