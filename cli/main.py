"""``deck``: the command-line face of Launchdeck. With no command it opens the dashboard."""

from __future__ import annotations

import sys

# Each module adds its subcommands through ``register(subparsers)``; handlers take the parsed
# arguments and return the exit code.
COMMAND_MODULES = [f"launchdeck.cli.{name}" for name in (
    "target", "runconfig", "submit", "runs", "prepare", "images", "store", "dash", "history",
    "link", "sweep")]
# Which module owns each command: only that one is imported when the command is known, so a
# quick command does not pay for the imports of every other.
COMMAND_OWNERS = {command: f"launchdeck.cli.{module}" for command, module in (
    ("target", "target"), ("runconfig", "runconfig"), ("submit", "submit"), ("rerun", "submit"),
    ("runs", "runs"), ("logs", "runs"), ("cancel", "runs"), ("prepare", "prepare"),
    ("images", "images"), ("store", "store"), ("dash", "dash"), ("history", "history"),
    ("link", "link"), ("sweep", "sweep"))}

# Commands that end their process as soon as they are done (``os._exit``) when it is `deck`
# itself, skipping the interpreter's teardown of every module it loaded (a tenth of a quick
# command's CPU time). They leave nothing to it: no atexit work, no temporary folder for a
# finalizer, and history needs no close (SQLite's WAL holds every commit; keepers end so too).
QUICK_EXIT = frozenset({"submit", "rerun", "runs", "logs", "cancel"})


def build_parser(only: str | None = None) -> "argparse.ArgumentParser":
    import argparse
    import importlib

    _remember_translations(argparse)
    parser = _parser_class(argparse)(
        prog="deck",
        description="Run Python and PySpark scripts of a Workbench-style project on local, "
                    "Docker, remote Docker and Spark targets, and watch them.",
        epilog="Run 'deck' with no command to open the dashboard.")
    parser.add_argument("--project", metavar="DIR",
                        help="the project folder (default: the one holding the current folder)")
    parser.add_argument("--version", action="store_true",
                        help="print deck's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in ([only] if only else COMMAND_MODULES):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a face not built yet
            raise
        module.register(sub)
    return parser


_DECK_PARSER: type | None = None


def _parser_class(argparse) -> type:
    """An ArgumentParser (its subcommands' parsers too) that measures the terminal once.

    argparse's help formatter asks ``shutil.get_terminal_size`` for the width each time one is
    made, and one is made for every argument added: a system call each time, and shutil (with
    its compression modules) imported by every command. Help is laid out the same way.
    """
    global _DECK_PARSER
    if _DECK_PARSER is None:
        import functools
        import os

        @functools.cache
        def columns() -> int:
            # What shutil.get_terminal_size gives: $COLUMNS, else the terminal's, else 80.
            try:
                if int(os.environ["COLUMNS"]) > 0:
                    return int(os.environ["COLUMNS"])
            except (KeyError, ValueError):
                pass
            try:
                return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
            except (AttributeError, ValueError, OSError):
                return 80

        class Formatter(argparse.HelpFormatter):
            def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
                super().__init__(prog, indent_increment, max_help_position,
                                 columns() - 2 if width is None else width)

        class DeckParser(argparse.ArgumentParser):
            def __init__(self, *args, **kwargs) -> None:
                kwargs.setdefault("formatter_class", Formatter)
                super().__init__(*args, **kwargs)

        _DECK_PARSER = DeckParser
    return _DECK_PARSER


def _remember_translations(argparse) -> None:
    """argparse asks gettext for each of its messages every time it builds a parser, and gettext
    searches the disk for a message catalog each time: half the time `deck runs` takes to build
    its parsers. A process's catalogs do not change, so each message is looked up once."""
    lookup = getattr(argparse, "_", None)
    if callable(lookup) and not hasattr(lookup, "cache_info"):
        import functools

        argparse._ = functools.lru_cache(maxsize=None)(lookup)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    whole_process = argv is None  # run as `deck`: nothing of this process is used after main
    argv = sys.argv[1:] if argv is None else argv
    if _asks_version(argv):  # before any command module is imported: it must start fast
        return _done(_print_version(), quick=whole_process)
    parser = build_parser(_owner_of(argv))
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        if args.command is None:
            args = parser.parse_args([*argv, "dash"]) if _has_dash(parser) else args
            handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help()
            return 2
    return _done(_handle(handler, args), quick=whole_process and args.command in QUICK_EXIT)


def _done(code: int, *, quick: bool) -> int:
    """``code``; with ``quick``, the process ends here, its output flushed."""
    if quick:
        import os

        try:
            sys.stdout.flush()
        except BrokenPipeError:  # `deck runs list | head`: not an error
            pass
        except OSError as exc:  # a full disk under `> file`: said, as the handler says it
            print(f"deck: {_storage_problem(exc) or exc}", file=sys.stderr)
            code = code or 2
        except ValueError:  # closed already
            pass
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)
    return code


def _handle(handler, args) -> int:
    from launchdeck.core.errors import DeckError

    try:
        return handler(args)
    except DeckError as exc:
        from launchdeck.core.text import printable

        print("deck: " + printable(exc, keep="\n"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `deck runs list | head` closes the pipe early; that is not an error.
        sys.stderr.close()
        return 0
    except Exception as exc:
        # A full disk or a read-only folder met outside core's own translations: one line.
        message = _storage_problem(exc)
        if message is None:
            raise
        print(f"deck: {message}", file=sys.stderr)
        return 2


def _storage_problem(exc: Exception) -> str | None:
    import sqlite3

    from launchdeck.core.diskerrors import is_storage_problem, storage_error

    if isinstance(exc, OSError) and is_storage_problem(exc):
        return str(storage_error(exc))
    if isinstance(exc, sqlite3.Error):
        from pathlib import Path

        from launchdeck.core.history.db import history_error

        return str(history_error(exc, Path(".deck/history.db"), "use"))
    return None


def _asks_version(argv: list[str]) -> bool:
    """Whether ``--version`` comes before any command (``deck submit --version`` does not)."""
    words = iter(argv)
    for word in words:
        if word == "--version":
            return True
        if word == "--project":
            next(words, None)
        elif not word.startswith("-"):
            return False
    return False


def _print_version() -> int:
    from launchdeck.core.version import installed_version

    version = installed_version()
    if version is None:
        print("deck: the launchdeck package is not installed (no package metadata found); "
              "install it with pip install -e .", file=sys.stderr)
        return 2
    print(f"deck {version}")
    return 0


def _owner_of(argv: list[str]) -> str | None:
    words = iter(argv)
    for word in words:
        if word == "--project":
            next(words, None)
        elif word.startswith("-"):
            continue
        else:
            return COMMAND_OWNERS.get(word)
    return None


def _has_dash(parser: "argparse.ArgumentParser") -> bool:
    for action in parser._subparsers._group_actions:  # noqa: SLF001 - argparse has no API
        if "dash" in getattr(action, "choices", {}):
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
