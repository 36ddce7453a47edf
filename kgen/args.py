"""The one command-line parser of every kgen entry point.

Options are declared as a dataclass (the same machinery as recipes: typed, range-checked, `none`
for optional fields), so `--help` lists every key with its type, default and valid values, and an
unknown key is an error that lists the valid ones. `--num-samples` and `--num_samples` are the
same key; a bare `--flag` sets a boolean to true.

argparse was the alternative: it would need every recipe key declared twice (dataclass and
parser), and it does not type-check nested dotted keys, which the recipes need.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kgen import config as config_lib
from kgen.errors import ConfigError


def split(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """(positional arguments, {key: value}); dashes inside a key are underscores."""
    positional, options = [], {}
    for arg in argv:
        if not arg.startswith("--"):
            positional.append(arg)
            continue
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        options["help" if key == "h" else key] = value if eq else "true"
    return positional, options


def fill(spec: Any, options: dict[str, str]) -> Any:
    """A copy of the option dataclass `spec` with `options` applied and validated."""
    return config_lib.apply_overrides(spec, options)


def parse(argv: list[str], spec: Any, positional: int | None = 0) -> tuple[Any, list[str]]:
    """(filled options, positional arguments) for an entry point whose options are `spec`.

    `positional` is how many positional arguments it takes (None: any number)."""
    args, options = split(argv)
    if positional is not None and len(args) != positional:
        raise ConfigError(
            f"expected {positional} positional argument(s), got {len(args)}: {args}" if args
            else f"expected {positional} positional argument(s)"
        )
    return fill(spec, options), args


def command(argv: list[str], spec: Any, doc: str, positional: int | None = 0):
    """An entry point's (options, positional arguments), or None once `--help` was printed."""
    if wants_help(argv):
        print(doc + "\n" + help_text(spec))
        return None
    return parse(argv, spec, positional)


def run_main(prog: str, argv: list[str], spec: Any, doc: str, body, positional: int | None = 0) -> int:
    """An entry point's whole life: --help, parsing, then `body(options, positional)`; a KgenError
    is printed as `prog: error: ...` with exit status 2 for a bad option or value, 1 otherwise."""
    import sys

    from kgen.errors import KgenError

    try:
        parsed = command(argv, spec, doc, positional)
        if parsed is not None:
            body(*parsed)
    except KgenError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2 if isinstance(e, ConfigError) else 1
    return 0


def help_text(spec: Any, title: str = "Options") -> str:
    rows = config_lib.describe(spec)
    width = max((len(k) for k, *_ in rows), default=0) + 2
    lines = [f"{title} (--key=value; --a-b and --a_b are the same key):"]
    for key, type_name, default, valid in rows:
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        shown = "none" if shown is None else shown
        lines.append(f"  --{key:<{width}}{type_name:<14}default {shown!s:<14}{valid}")
    return "\n".join(lines)


def wants_help(argv: list[str]) -> bool:
    return "help" in split(argv)[1]


def as_dict(spec: Any) -> dict:
    return dataclasses.asdict(spec)
