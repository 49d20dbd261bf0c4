"""The evaluation table (policies x metrics on the same held-out users), the paired comparisons of
PPO with the baselines, the promotion gate, and the table as Markdown and JSON.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from fitness_assets.rl.cohort import ROBUSTNESS_SHIFT, Cohort, SimConfig, shifted
from fitness_assets.rl.env import RewardWeights
from fitness_assets.rl.evaluate import TEST_SEED, held_out_cohort, paired_bootstrap, rollout, summary

HEURISTICS = ("B0", "B1", "B2", "B3")  # the closed-loop and constant heuristics of the goal
BASELINES = (*HEURISTICS, "B4")
LEARNED = "PPO"
SAFETY_MARGIN_PP = 1.0  # injury and dropout may be at most this many points worse

COLUMNS = (
    ("mean_return", "mean return", "{:.2f}"),
    ("fitness_gain_pct", "VO2max gain %", "{:.2f}"),
    ("test_gain_pct", "test-day gain %", "{:.2f}"),
    ("injury_pct", "injury %", "{:.1f}"),
    ("dropout_pct", "dropout %", "{:.1f}"),
    ("worst_decile_return", "worst-decile return", "{:.2f}"),
    ("mean_weekly_minutes", "min/week", "{:.0f}"),
)


def evaluation_table(
    policies: dict[str, object],
    cohort: Cohort,
    config: SimConfig | None = None,
    weights: RewardWeights | None = None,
    seed: int = TEST_SEED,
) -> dict:
    """Every policy on the same users and noise; paired comparisons when ``PPO`` is present."""
    stats = {key: rollout(policy, cohort, config, weights) for key, policy in policies.items()}
    table = {
        "users": len(cohort),
        "seed": seed,
        "rows": {key: {"policy": policies[key].name, **summary(s)} for key, s in stats.items()},
        "comparisons": {},
    }
    if LEARNED not in stats:
        return table
    rows = table["rows"]
    groups = {
        "best_of_B0_B3": [k for k in HEURISTICS if k in rows],
        "B4": [k for k in ("B4",) if k in rows],
        "best_baseline": [k for k in BASELINES if k in rows],
    }
    for label, keys in groups.items():
        if not keys:
            continue
        best = max(keys, key=lambda k: rows[k]["mean_return"])
        diff = paired_bootstrap(stats[LEARNED].returns, stats[best].returns)
        reference = rows[best]["mean_return"]
        table["comparisons"][label] = {
            "baseline": best,
            "baseline_return": reference,
            "difference": diff["mean"],
            "ci_low": diff["ci_low"],
            "ci_high": diff["ci_high"],
            "relative": diff["mean"] / abs(reference) if abs(reference) > 1e-9 else math.inf,
            "injury_pp": rows[LEARNED]["injury_pct"] - rows[best]["injury_pct"],
            "dropout_pp": rows[LEARNED]["dropout_pct"] - rows[best]["dropout_pct"],
        }
    return table


def beats_baseline(
    table: dict, min_relative: float = 0.0, safety_margin_pp: float = SAFETY_MARGIN_PP
) -> bool:
    """Promotion gate: PPO's paired 95% CI over the best baseline (B0-B4) is above zero and the
    gain is at least ``min_relative`` of that baseline's |return|; injury and dropout are no more
    than ``safety_margin_pp`` points worse than the best of B0-B3 (the goal's safety reference)."""
    comparisons = table.get("comparisons", {})
    best, safety = comparisons.get("best_baseline"), comparisons.get("best_of_B0_B3")
    if best is None or safety is None:
        return False
    return (
        best["ci_low"] > 0.0
        and best["relative"] >= min_relative
        and safety["injury_pp"] <= safety_margin_pp
        and safety["dropout_pp"] <= safety_margin_pp
    )


def goal_status(table: dict) -> dict[str, bool]:
    """The issue's goal, criterion by criterion (>= +10% over the best of B0-B3 with CI > 0,
    safety within 1 point, and above B4)."""
    heuristics = table["comparisons"].get("best_of_B0_B3", {})
    b4 = table["comparisons"].get("B4", {})
    return {
        "relative_gain_10pct": bool(heuristics) and heuristics["relative"] >= 0.10,
        "ci_above_zero": bool(heuristics) and heuristics["ci_low"] > 0.0,
        "injury_within_1pp": bool(heuristics) and heuristics["injury_pp"] <= SAFETY_MARGIN_PP,
        "dropout_within_1pp": bool(heuristics) and heuristics["dropout_pp"] <= SAFETY_MARGIN_PP,
        "above_B4": bool(b4) and b4["difference"] > 0.0,
    }


def to_markdown(table: dict) -> str:
    """The table and the paired comparisons as Markdown."""
    header = "| policy | " + " | ".join(label for _, label, _ in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for row in table["rows"].values():
        cells = [fmt.format(row[key]) for key, _, fmt in COLUMNS]
        lines.append(f"| {row['policy']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{table['users']} held-out users (seed {table['seed']}), common random numbers for every policy."
    )
    for label, c in table["comparisons"].items():
        lines.append(
            f"- PPO minus {label.replace('_', ' ')} ({c['baseline']}): {c['difference']:+.2f} "
            f"(95% paired bootstrap CI {c['ci_low']:+.2f} to {c['ci_high']:+.2f}; relative {c['relative']:+.1%} "
            f"of |{c['baseline_return']:.2f}|), injury {c['injury_pp']:+.1f} pp, dropout {c['dropout_pp']:+.1f} pp"
        )
    return "\n".join(lines) + "\n"


def write_report(table: dict, out_dir: str | Path, name: str = "evaluation") -> tuple[Path, Path]:
    """Write ``<name>.md`` and ``<name>.json``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / f"{name}.md", out / f"{name}.json"
    md.write_text(to_markdown(table))
    js.write_text(json.dumps(table, indent=2, default=float))
    return md, js


def evaluate(
    policies: dict[str, object],
    n_users: int = 1000,
    seed: int = TEST_SEED,
    config: SimConfig | None = None,
    weights: RewardWeights | None = None,
) -> dict:
    """The evaluation table of ``policies`` on ``n_users`` held-out test users."""
    config = config or SimConfig()
    return evaluation_table(policies, held_out_cohort(n_users, "test", seed, config), config, weights, seed)


#: The robustness runs: the test users as trained for, shifted, and under the ACWR injury model.
SCENARIOS = ("nominal", "shifted", "acwr_injuries")


def robustness(
    policies: dict[str, object],
    n_users: int = 1000,
    seed: int = TEST_SEED,
    config: SimConfig | None = None,
    weights: RewardWeights | None = None,
) -> dict:
    """Policies trained and tuned on ``config``, evaluated on its test users, on the same users
    shifted (``ROBUSTNESS_SHIFT``: slower fatigue decay, more fatigue, lower adherence) and under an
    ACWR-based injury hazard instead of session spikes. ``holds`` says, per scenario, whether PPO's
    mean return is at least the best of B0-B3 (None without PPO)."""
    config = config or SimConfig()
    users = held_out_cohort(
        n_users, "test", seed, config
    )  # no injuries in the burn-in: ACWR shares these users
    acwr = dataclasses.replace(config, injury_model="acwr")
    tables = {
        "nominal": evaluation_table(policies, users, config, weights, seed),
        "shifted": evaluate(policies, n_users, seed, shifted(config), weights),
        "acwr_injuries": evaluation_table(policies, users, acwr, weights, seed),
    }
    holds = {
        name: (t["comparisons"]["best_of_B0_B3"]["difference"] >= 0.0 if t["comparisons"] else None)
        for name, t in tables.items()
    }
    return {"shift": dict(ROBUSTNESS_SHIFT), **tables, "holds": holds}


def robustness_markdown(result: dict) -> str:
    """The three tables as Markdown, each under a heading naming its scenario."""
    shift = result["shift"]
    parts = [
        f"Policies trained and tuned on the nominal population. Shifted: tau2 x{shift['tau2_scale']:g}, "
        f"k3 x{shift['k3_scale']:g}, adherence {100 * shift['adherence_shift']:+.0f} points. ACWR injuries: "
        "the injury hazard follows the EWMA acute:chronic ratio instead of session spikes.\n"
    ]
    for name in SCENARIOS:
        verdict = {True: "PPO >= best of B0-B3", False: "PPO < best of B0-B3", None: "no PPO"}[
            result["holds"][name]
        ]
        parts.append(f"### {name.replace('_', ' ')} ({verdict})\n\n{to_markdown(result[name])}")
    return "\n".join(parts)


def robustness_lines(result: dict) -> list[str]:
    """One line per scenario: PPO against the best of B0-B3, with the paired 95% CI."""
    lines = []
    for name in SCENARIOS:
        ppo, best = result[name]["rows"]["PPO"], result[name]["comparisons"]["best_of_B0_B3"]
        lines.append(
            f"{name}: PPO {ppo['mean_return']:.2f} vs {best['baseline']} {best['baseline_return']:.2f} "
            f"(difference {best['difference']:+.2f}, 95% CI {best['ci_low']:+.2f} to {best['ci_high']:+.2f})"
        )
    return lines
