"""How a user names a run: its id, its run number, or a unique part of its id.

One rule for every face (each CLI command that takes a run, the dashboard's ``:run`` and its
command palette), so that a reference never silently picks a run the user did not mean:

1. the whole id names that run;
2. digits alone (``7``, or ``#7``) are a run number; digits that are no run's number are read as
   a part of an id only when they start with 0 or are long enough to be one (ids end in a
   millisecond stamp), so ``deck cancel 7`` never stops some run whose id happens to hold a 7;
3. otherwise any part of an id (a prefix, a suffix or the middle, with or without the project
   name in front) names the one run whose id holds it; a part found in several ids is refused
   with the candidates listed (``AmbiguousRunRef``: the dashboard asks which one).
"""

from __future__ import annotations

from typing import Iterable, Protocol, Sequence, TypeVar

from launchdeck.core.errors import AmbiguousRunRef, RunNotFound

#: Shorter digit strings that are no run's number are refused rather than matched inside ids.
MIN_ID_DIGITS = 6
#: How many candidates an "ambiguous" message lists.
SHOWN_CANDIDATES = 10


class NamedRun(Protocol):
    run_id: str
    run_number: int | None


R = TypeVar("R", bound=NamedRun)


def resolve_run_ref(ref: str, runs: Iterable[R]) -> R:
    """The one run of ``runs`` that ``ref`` names; RunNotFound (with candidates) otherwise.

    ``runs`` may be every run of the project or any superset of the runs ``ref`` could name
    (history passes the rows SQL found by id, number or part).
    """
    text = ref.strip()
    if not text:
        raise RunNotFound("which run? name it by its id, its run number or a part of its id")
    runs = list(runs)
    number_only = text.startswith("#")
    digits = text[1:] if number_only else text
    for run in runs:
        if run.run_id == text:
            return run
    if digits.isdigit() and (number_only or not digits.startswith("0")):
        number = int(digits)
        for run in runs:
            if run.run_number == number:
                return run
        if number_only or len(digits) < MIN_ID_DIGITS:
            raise RunNotFound(f"no run number {number} in this project's history")
    matches = [run for run in runs if text in run.run_id]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFound(f"no run {text!r} in this project's history")
    matches = sorted(matches, key=lambda r: (r.run_number or 0), reverse=True)
    raise AmbiguousRunRef(ambiguous_message(text, matches), tuple(r.run_id for r in matches))


def ambiguous_message(text: str, matches: Sequence[NamedRun]) -> str:
    """What the CLI says of ``matches`` (newest number first), the first few by name."""
    shown = [f"#{r.run_number} {r.run_id}" if r.run_number else r.run_id
             for r in matches[:SHOWN_CANDIDATES]]
    more = len(matches) - len(shown)
    tail = f", and {more} more" if more else ""
    return (f"{text!r} matches {len(matches)} runs: {', '.join(shown)}{tail}; name one by its "
            "run number or a longer part of its id")
