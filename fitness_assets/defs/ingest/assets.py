"""The six raw MongoDB collections as observable source assets.

One observation reads, per collection, the document count and the newest record time; together
they are the data version, so Dagster shows when new raw data arrived since a week was computed.
"""

import warnings

import dagster as dg

from fitness_assets.features.sources import observe_collection
from fitness_assets.resources import MongoResource
from fitness_core.schemas import RECORD_TYPES

RAW_GROUP = "raw"
RAW_KEYS: dict[str, dg.AssetKey] = {
    cls.COLLECTION: dg.AssetKey(["raw", cls.COLLECTION]) for cls in RECORD_TYPES
}


def raw_specs() -> list[dg.AssetSpec]:
    """One spec per raw collection (a function: module-level specs would be loaded as definitions)."""
    return [
        dg.AssetSpec(
            key=RAW_KEYS[cls.COLLECTION],
            description=f"MongoDB collection `{cls.COLLECTION}`: {cls.__doc__.strip().splitlines()[0]} "
            f"(written by the storage writer from stream `{cls.STREAM}`).",
            group_name=RAW_GROUP,
            kinds={"mongodb"},
            metadata={"collection": cls.COLLECTION, "stream": cls.STREAM, "natural_id": cls.ID_FIELD},
        )
        for cls in RECORD_TYPES
    ]


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)

    @dg.multi_observable_source_asset(specs=raw_specs(), name="raw_collections", description=__doc__)
    def raw_collections(context: dg.AssetExecutionContext, mongo: MongoResource):
        """Count and newest timestamp of each raw collection."""
        db = mongo.database()
        for cls in RECORD_TYPES:
            seen = observe_collection(db, cls)
            yield dg.ObserveResult(
                asset_key=RAW_KEYS[cls.COLLECTION],
                data_version=dg.DataVersion(seen.data_version),
                metadata={
                    "dagster/row_count": seen.documents,
                    "latest": dg.MetadataValue.text(seen.latest.isoformat() if seen.latest else "none"),
                },
            )
