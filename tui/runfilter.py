"""The runs screen's ``/`` filter: words match anywhere, ``field:value`` matches one field.

``loss status:failed,canceled target:gpu1`` keeps runs whose text holds "loss", that Failed or
were Canceled, on a target whose name holds "gpu1". Every term must match.
"""

from __future__ import annotations

from dataclasses import dataclass

from launchdeck.core.history.records import RunRecord

FIELDS = {
    "status": lambda r: r.status.value,
    "target": lambda r: r.target,
    "runconfig": lambda r: r.run_configuration,
    "config": lambda r: r.run_configuration,
    "script": lambda r: r.script,
    "id": lambda r: r.run_id,
}


@dataclass(frozen=True)
class RunFilter:
    text: str = ""

    def __post_init__(self) -> None:
        fielded, words = [], []
        for term in self.text.lower().split():
            name, sep, value = term.partition(":")
            if sep and name in FIELDS:
                fielded.append((FIELDS[name], tuple(v for v in value.split(",") if v)))
            else:
                words.append(term)
        object.__setattr__(self, "_fielded", tuple(fielded))
        object.__setattr__(self, "_words", tuple(words))

    def __bool__(self) -> bool:
        return bool(self.text.strip())

    def problems(self) -> list[str]:
        """What in the filter can match no run: a status that is none of the known ones."""
        from launchdeck.core.runs.state import RunState

        known = [state.value.lower() for state in RunState]
        out = []
        for term in self.text.lower().split():
            name, sep, value = term.partition(":")
            if sep and name == "status":
                bad = [v for v in value.split(",") if v and not any(v in k for k in known)]
                if bad:
                    out.append(f"no status {', '.join(bad)} "
                               f"({' '.join(s.value.lower() for s in RunState)})")
        return out

    def matches(self, run: RunRecord) -> bool:
        for getter, values in self._fielded:
            field = getter(run).lower()
            if values and not any(v in field for v in values):
                return False
        if self._words:
            haystack = " ".join((run.run_id, run.script, run.run_configuration, run.target,
                                 run.status.value)).lower()
            return all(word in haystack for word in self._words)
        return True
