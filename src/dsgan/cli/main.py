"""Entry point of the ``dsgan`` command.

Each subcommand lives in its own module of this package exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. A :class:`~dsgan.errors.UserError` anywhere
becomes a one-line ``error:`` message and exit code 2 (no traceback); Ctrl-C and SIGTERM exit with
130 (``dsgan train`` first writes a checkpoint).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from dsgan import __version__
from dsgan.errors import UserError

# Subcommand modules, in the order ``dsgan --help`` lists them.
COMMANDS = (
    "demo",
    "train",
    "degrade",
    "corrupt",
    "sr_train",
    "upscale",
    "pipeline",
    "evaluate",
    "inspect",
    "export",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit code 2 like argparse, with usage
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dsgan",
        description="Learn real-world degradation (DSGAN) and train super-resolution on it.",
    )
    parser.add_argument("--version", action="version", version=f"dsgan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"dsgan.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dsgan.cli.{name}":
                continue  # subcommand not built into this version
            raise
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


_DISK_ERRORS = {
    errno.ENOSPC: "disk full (no space left on device); free some space and run again",
    errno.EDQUOT: "disk quota exceeded; free some space and run again",
    errno.EROFS: "read-only file system; choose another output folder",
}


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a job scheduler) is handled like Ctrl-C: clean up, exit 130."""
    try:
        old = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread: leave signals alone
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        with _sigterm_as_interrupt():
            return int(args._run(args) or 0)
    except UserError as exc:
        print(f"dsgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dsgan {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full etc. outside save_image (checkpoints, logs): no traceback
        if exc.errno not in _DISK_ERRORS:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"dsgan {args.command}: error: {where}{_DISK_ERRORS[exc.errno]}", file=sys.stderr)
        return 2
