"""Markdown previews of a trained policy and of a week's prescriptions (shown as asset metadata)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fitness_assets.features.preview import PREVIEW_ROWS, markdown_table

if TYPE_CHECKING:
    from fitness_core.plans import PrescriptionDocument

SPARKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 24


def sparkline(values: list[float]) -> str:
    """One character per value, from the lowest (▁) to the highest (█)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low or 1.0
    return "".join(SPARKS[round((v - low) / span * (len(SPARKS) - 1))] for v in values)


def curve_markdown(curve: list[dict[str, Any]]) -> str:
    """The validation reward curve as a sparkline and a table with a bar per evaluation."""
    if not curve:
        return "No validation run happened (the budget was shorter than one evaluation period)."
    returns = [float(p["validation_return"]) for p in curve]
    low, high = min(returns), max(returns)
    span = high - low or 1.0
    rows = [
        [f"{p['timesteps']:,}", round(r, 3), "█" * (1 + round((r - low) / span * (BAR_WIDTH - 1)))]
        for p, r in zip(curve, returns, strict=True)
    ]
    best = max(range(len(returns)), key=returns.__getitem__)
    return (
        f"Mean validation return (training reward) by environment steps: `{sparkline(returns)}`; "
        f"best {returns[best]:.3f} at {curve[best]['timesteps']:,} steps (that checkpoint is kept).\n\n"
        + markdown_table(["steps", "validation return", ""], rows)
    )


def prescriptions_preview(documents: list[PrescriptionDocument], limit: int = PREVIEW_ROWS) -> str:
    """The first users' prescriptions beside the baseline's targets."""
    rows = []
    for doc in documents[:limit]:
        base = doc.baseline or {}
        rows.append(
            [
                doc.user_id,
                doc.target_hrr,
                doc.weekly_minutes,
                doc.sessions,
                base.get("target_hrr"),
                base.get("weekly_minutes"),
                base.get("sessions"),
                doc.block_week,
            ]
        )
    header = [
        "user",
        "%HRR",
        "min/week",
        "sessions",
        "baseline %HRR",
        "baseline min",
        "baseline sessions",
        "block week",
    ]
    more = f"\n\n… and {len(documents) - limit} more users" if len(documents) > limit else ""
    return markdown_table(header, rows) + more
