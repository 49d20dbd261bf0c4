"""weekly_reports: the week's HTML reports, index page and `reports` documents (a thin adapter over
``fitness_assets.reporting.publish_week``)."""
# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

from pathlib import Path

import dagster as dg

from fitness_assets.defs.common import (
    WEEKLY_CHAIN_TAG,
    database,
    fail_if_everyone_failed,
    failure_metadata,
    week_of,
)
from fitness_assets.defs.features.assets import user_contexts, weekly_features
from fitness_assets.defs.partitions import weekly_partitions
from fitness_assets.features.preview import PREVIEW_ROWS, markdown_table
from fitness_assets.reporting.index import IndexEntry, _attention_order
from fitness_assets.reporting.publish import PublishedWeek, publish_week
from fitness_assets.reporting.render import CODE_VERSION
from fitness_assets.reporting.rules import PRIORITIES
from fitness_assets.resources import ArtifactStore, MongoResource
from fitness_core import store

REPORT_GROUP = "reports"
#: The plan assets whose newest documents a report shows. Declared by key: loading and materializing
#: work while they are not defined (Dagster then lists them as external, non-materializable assets),
#: and in a run that also plans (the weekly chain) the reports wait for this week's plans. So a
#: failed plan step, or a failed blocking plan check, skips the reports of that run; materializing
#: weekly_reports alone afterwards shows whatever plans are stored (publish_week reads them from
#: MongoDB; these deps only order the run and draw the lineage).
PLAN_KEYS = (dg.AssetKey("workout_plans"), dg.AssetKey("nutrition_plans"))


def artifact_root(artifacts: ArtifactStore) -> Path:
    """The artifact store's folder, absolute (report paths in documents are relative to it)."""
    return Path(artifacts.root).resolve()


def mix_table(published: PublishedWeek) -> str:
    """Recommendations per priority and how many users got at least one, as Markdown."""
    rows = [[p, published.mix[p], sum(1 for e in published.entries if e.mix[p])] for p in PRIORITIES]
    quiet = sum(1 for e in published.entries if not any(e.mix.values()))
    return markdown_table(["priority", "recommendations", "users with one or more"], rows) + (
        f"\n\n{quiet} of {published.count} users have no recommendation."
    )


def urgent_preview(entries: list[IndexEntry], limit: int = PREVIEW_ROWS) -> str:
    """The index's first rows as Markdown, in the index page's order (most urgent first)."""
    urgent = sorted(entries, key=_attention_order)[:limit]
    rows = [[e.user_id, *(e.mix[p] for p in PRIORITIES), e.status] for e in urgent]
    more = f"\n\n… and {len(entries) - limit} more users" if len(entries) > limit else ""
    return markdown_table(["user", *PRIORITIES, "status"], rows) + more


def skipped_list(invalid: dict[str, str]) -> str:
    """Users whose features could not be read, each with the reason (ids and field names only)."""
    return "\n".join(f"- `{user}`: {reason}" for user, reason in sorted(invalid.items())) or "none"


def report_metadata(published: PublishedWeek, index: Path) -> dict[str, object]:
    """What the UI shows for a published week: count, the index, the recommendation mix, skips."""
    return {
        **failure_metadata(published.failures),
        "dagster/row_count": published.count,
        "index": dg.MetadataValue.path(str(index)),
        "index_url": dg.MetadataValue.url(index.as_uri()),
        "recommendation_mix": dg.MetadataValue.md(mix_table(published)),
        **{f"recommendations_{p}": published.mix[p] for p in PRIORITIES},
        "most_urgent": dg.MetadataValue.md(urgent_preview(published.entries)),
        "skipped_users": len(published.invalid),
        "skipped": dg.MetadataValue.md(skipped_list(published.invalid)),
        "new_documents": published.stored,
        "removed_pages": published.removed_files,
        "seconds": published.seconds,
    }


@dg.asset(
    partitions_def=weekly_partitions,
    deps=[weekly_features, user_contexts, *PLAN_KEYS],
    group_name=REPORT_GROUP,
    kinds={"python", "mongodb", "html"},
    code_version=CODE_VERSION,
    tags=WEEKLY_CHAIN_TAG,
    metadata={
        "collection": store.REPORTS,
        "files": "reports/<week>/<user_id>.html and reports/<week>/index.html",
    },
)
def weekly_reports(
    context: dg.AssetExecutionContext, mongo: MongoResource, artifacts: ArtifactStore
) -> dg.MaterializeResult:
    """One self-contained HTML report per user with features in the week, an index page linking them
    with a one-line status, and a `reports` document per report (path, week, user, recommendations).

    Re-materializing a week rewrites its pages, removes pages of users no longer in it, and stores a
    new document only for reports whose inputs changed.
    """
    week = week_of(context)
    published = publish_week(database(mongo), artifact_root(artifacts), week)
    fail_if_everyone_failed(published.failures, published.count)
    for user_id in sorted(published.invalid):
        context.log.warning(f"no report for user {user_id}: features document could not be read")
    return dg.MaterializeResult(metadata=report_metadata(published, artifacts.path(published.index_path)))
