"""The Great Expectations suite as blocking asset checks on the stats and candidate tables.

Each check runs after `dbt build` materialises its table. A failed expectation fails the check
with ERROR severity, which (blocking) fails the run and keeps every asset downstream of the
table, such as serving the candidates, from running.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation.
from collections.abc import Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from orchestration.defs.resources import MemefeedResource
from orchestration.lib.feed_expectations import (
    GATED_TABLES,
    ExpectationOutcome,
    FeedExpectationsResult,
    TableName,
    expectations_gating,
    run_feed_expectations,
)

CHECK_NAME = "great_expectations"


def feed_expectations_check_result(result: FeedExpectationsResult) -> AssetCheckResult:
    """Passed only if every expectation did; the description names each one that did not."""
    failed = result.failed
    if failed:
        description = f"{len(failed)} of {len(result.outcomes)} expectations failed: " + "; ".join(
            outcome.describe() for outcome in failed
        )
    else:
        description = f"All {len(result.outcomes)} expectations passed."
    metadata: dict[str, MetadataValue] = {
        "failed_expectations": MetadataValue.json([outcome.name for outcome in failed]),
        "gx_seconds": MetadataValue.float(round(result.seconds, 3)),
    }
    # One entry per expectation, so the UI plots each observed value across runs.
    for outcome in result.outcomes:
        metadata[outcome.name] = _observed_value_metadata(outcome)
    return AssetCheckResult(
        passed=result.success,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


def _observed_value_metadata(outcome: ExpectationOutcome) -> MetadataValue:
    if outcome.error is not None or outcome.unexpected_examples:
        return MetadataValue.text(outcome.describe())
    observed = outcome.observed_value
    if isinstance(observed, bool) or not isinstance(observed, int | float):
        return MetadataValue.text(str(observed))
    if isinstance(observed, int):
        return MetadataValue.int(observed)
    return MetadataValue.float(observed)


def feed_expectations_check(table: TableName) -> AssetChecksDefinition:
    """The blocking check of `table` (schema, name): the expectations that gate it."""
    schema, name = table
    expectation_names = ", ".join(e.name for e in expectations_gating(table))

    @asset_check(
        asset=AssetKey([schema, name]),
        name=CHECK_NAME,
        blocking=True,
        description=f"Great Expectations on {schema}.{name}: {expectation_names}.",
    )
    def check_feed_expectations(
        context: AssetCheckExecutionContext, memefeed: MemefeedResource
    ) -> AssetCheckResult:
        result = run_feed_expectations(memefeed.database_url, gated_tables=[table])
        if not result.success:
            context.log.error("%s.%s:\n%s", schema, name, result.describe_failures())
        return feed_expectations_check_result(result)

    return check_feed_expectations


feed_expectation_checks: Sequence[AssetChecksDefinition] = [
    feed_expectations_check(table) for table in GATED_TABLES
]
