"""The artifact store's one containment rule: a stored relative path never leaves the store."""

from __future__ import annotations

from pathlib import Path


def inside(root: Path, relative: str, *, allow_root: bool = False) -> Path | None:
    """``root / relative`` resolved, or None when it escapes ``root`` (``..``, absolute) or is ``root``
    itself (a file address never is; a folder may be, with ``allow_root``)."""
    base = root.resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or (candidate == base and not allow_root):
        return None
    return candidate
