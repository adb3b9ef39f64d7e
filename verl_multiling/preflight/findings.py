"""What every check returns: a :class:`Finding` (level, field, message), and the shape of a language code."""

from __future__ import annotations

import re
from dataclasses import dataclass

ISO_639_1 = re.compile(r"^[a-z]{2}$")


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "ok" | "note"
    field: str
    message: str

    def __str__(self) -> str:
        mark = {"error": "ERROR", "warning": "WARN ", "ok": "ok   ", "note": "note "}[self.level]
        return f"[{mark}] {self.field}: {self.message}"
