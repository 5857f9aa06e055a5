"""Checks every command shares: output files and output directories (seeds: :mod:`.seeds`).

Each check fails with a message that names the option the user typed and
what was expected, before any work is done (an unwritable ``--out`` is found
before a run, not after it).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click


def result_dir_options(what: str, default: str) -> Callable[[Any], Any]:
    """``--out DIR``, ``--force`` and ``--no-plot`` of a command that writes one result directory.

    Args:
        what: The directory in words (``"result"``, ``"game"``): ``--out``'s help.
        default: Where the command writes without ``--out``, in words.
    """
    options = [
        click.option(
            "--out",
            type=click.Path(path_type=Path),
            default=None,
            metavar="DIR",
            help=f"{what.capitalize()} directory [default: {default}].",
        ),
        click.option("--force", is_flag=True, help=f"Replace the {what} directory if it exists."),
        click.option("--no-plot", is_flag=True, help="Do not draw escalation_curve.png."),
    ]

    def decorate(fn: Any) -> Any:
        for option in reversed(options):  # click lists options in the order written
            fn = option(fn)
        return fn

    return decorate


class OutputError(click.ClickException):
    """An output path that cannot be written; exits with status 2 like other input errors."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        """Print ``error: MESSAGE`` (the tool's own form, not click's ``Error:``)."""
        click.echo(f"error: {self.message}", err=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _nearest_existing(path: Path) -> Path:
    here = path.absolute()
    while not here.exists() and here != here.parent:
        here = here.parent
    return here


def _probe_writable(folder: Path, option: str, target: Path) -> None:
    """Create and remove a scratch entry in ``folder``: the only test that root cannot fool."""
    try:
        scratch = tempfile.mkdtemp(prefix=".escalation-sim-probe-", dir=folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"{option}: cannot write {target}: {reason} (in {folder})") from None
    with contextlib.suppress(OSError):
        os.rmdir(scratch)


def check_output_file(path: Path, option: str, inputs: Iterable[Path] = ()) -> None:
    """Check that ``path`` can be written as a file and is none of ``inputs``.

    Raises:
        OutputError: ``path`` is a directory, an input file, under a file, or
            in a folder that cannot be written.
    """
    if path.is_dir():
        raise OutputError(f"{option}: {path} is a directory; expected a file name")
    for source in inputs:
        if _same_file(path, source):
            raise OutputError(
                f"{option}: {path} is an input of this command ({source}); "
                "write the output to another file"
            )
    parent = _nearest_existing(path.parent)
    if not parent.is_dir():
        raise OutputError(f"{option}: cannot write {path}: {parent} is not a folder")
    _probe_writable(parent, option, path)


def check_output_dir(path: Path, option: str = "--out") -> None:
    """Check, before any work, that a result directory can be created at ``path``.

    Raises:
        OutputError: ``path`` is an existing file, or lies under a file or in a
            folder that cannot be written.
    """
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option}: {path} is a file; expected a directory for the results")
    parent = _nearest_existing(path.absolute().parent)
    if not parent.is_dir():
        raise OutputError(f"{option}: cannot create {path}: {parent} is not a folder")
    _probe_writable(parent, option, path)


def check_result_dir(out: Path, *, force: bool, inputs: Sequence[Path] = ()) -> None:
    """Check, before any work, that the result directory ``out`` may be written.

    The rule of every command that writes results: an existing ``out`` is
    replaced only with ``--force`` and only if this tool wrote it, and ``out``
    may hold none of the command's ``inputs``.

    Raises:
        OutputError: What stands in the way, and what to do instead.
    """
    check_output_dir(out)
    with output_errors():
        from escalation_sim.results import check_output

        check_output(out, force=force, inputs=inputs)


@contextlib.contextmanager
def output_errors() -> Iterator[None]:
    """Report a result directory that may not be written as ``error: ...``, status 2.

    Raises:
        OutputError: For the results layer's own ``OutputError`` inside the block.
    """
    from escalation_sim.results import OutputError as ResultsOutputError

    try:
        yield
    except ResultsOutputError as exc:
        raise OutputError(str(exc)) from None


def write_text_atomic(path: Path, text: str, option: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it (never half-written).

    Raises:
        OutputError: The file cannot be written.
    """
    folder = path.absolute().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():  # keep the permissions of a file being replaced
            with contextlib.suppress(OSError):
                os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:  # mkstemp makes 0600; a new output follows the umask like any other file
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None
