"""The feed's Great Expectations suite: what the stats and candidate tables must satisfy.

The definitions are data (`FEED_EXPECTATIONS`); `run_feed_expectations` validates them against a
database in an ephemeral, quiet GX context and returns every outcome by name, with the value
GX observed. Each expectation gates one dbt table (`gates`), which is how the Dagster checks pick
theirs. Only the stable columns of the dbt contract are named here; the queries are constants.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memefeed.db_urls import sqlalchemy_url

if TYPE_CHECKING:
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import DataContextConfig

TableName = tuple[str, str]
"""(schema, table) of a table the suite gates, e.g. ("marts", "meme_stats")."""

MEME_STATS: TableName = ("marts", "meme_stats")
USER_STATS: TableName = ("marts", "user_stats")
USER_CANDIDATES: TableName = ("recommendations", "user_candidates")
COLD_START_CANDIDATES: TableName = ("recommendations", "cold_start_candidates")
GATED_TABLES: tuple[TableName, ...] = (
    MEME_STATS,
    USER_STATS,
    USER_CANDIDATES,
    COLD_START_CANDIDATES,
)

# Users who reacted or were sent a meme this recently (before the build) must have candidates.
ACTIVE_USER_WINDOW_DAYS = 7
# meme_stats.sec_to_react: the median reaction time inside dbt's 0.5-60 s window, or this
# sentinel for a meme with no reaction in the window.
NO_REACTION_TIME_SENTINEL = 99999
LR_SMOOTHED_BOUND = 2
# Rows shown per failed expectation: enough to find the culprit, little enough for metadata.
UNEXPECTED_EXAMPLES = 5
# Marks which feed expectation a GX result belongs to.
NAME_META_KEY = "feed_expectation"


@dataclass(frozen=True)
class CheckedData:
    """A table or a fixed query that GX reads as one batch, and the dbt table it gates."""

    name: str
    gates: TableName
    table: TableName | None = None
    query: str | None = None
    # Columns that identify an unexpected row in a failure report.
    row_id_columns: tuple[str, ...] = ()


MEME_STATS_DATA = CheckedData(
    "meme_stats",
    gates=MEME_STATS,
    # A query, not the table: nlikes + ndislikes is compared with nmemes_sent column to column.
    query="""
        select
            meme_id,
            nlikes,
            ndislikes,
            nmemes_sent,
            nlikes + ndislikes as nreactions,
            lr_smoothed,
            sec_to_react
        from marts.meme_stats
    """,
    row_id_columns=("meme_id",),
)
USER_STATS_DATA = CheckedData(
    "user_stats", gates=USER_STATS, table=USER_STATS, row_id_columns=("user_id",)
)
USER_CANDIDATES_DATA = CheckedData(
    "user_candidates",
    gates=USER_CANDIDATES,
    table=USER_CANDIDATES,
    row_id_columns=("user_id", "meme_id"),
)
COLD_START_CANDIDATES_DATA = CheckedData(
    "cold_start_candidates",
    gates=COLD_START_CANDIDATES,
    table=COLD_START_CANDIDATES,
    row_id_columns=("language_code", "meme_id"),
)
# An inner join would hide a candidate whose meme row is gone; the left join shows it as null.
USER_CANDIDATE_MEMES_DATA = CheckedData(
    "user_candidate_memes",
    gates=USER_CANDIDATES,
    query="""
        select
            candidates.user_id,
            candidates.meme_id,
            memes.status,
            memes.telegram_file_id
        from recommendations.user_candidates as candidates
        left join app.meme as memes
            on candidates.meme_id = memes.id
    """,
    row_id_columns=("user_id", "meme_id"),
)
COLD_START_CANDIDATE_MEMES_DATA = CheckedData(
    "cold_start_candidate_memes",
    gates=COLD_START_CANDIDATES,
    query="""
        select
            candidates.language_code,
            candidates.meme_id,
            memes.status,
            memes.telegram_file_id
        from recommendations.cold_start_candidates as candidates
        left join app.meme as memes
            on candidates.meme_id = memes.id
    """,
    row_id_columns=("language_code", "meme_id"),
)
# The bot drops memes sent after built_at itself; a send before built_at is dbt's mistake.
USER_CANDIDATE_SENDS_DATA = CheckedData(
    "user_candidate_sends",
    gates=USER_CANDIDATES,
    query="""
        select
            candidates.user_id,
            candidates.meme_id,
            reactions.sent_at as sent_before_build_at
        from recommendations.user_candidates as candidates
        left join app.user_meme_reaction as reactions
            on
                candidates.user_id = reactions.user_id
                and candidates.meme_id = reactions.meme_id
                and reactions.sent_at < candidates.built_at
    """,
    row_id_columns=("user_id", "meme_id"),
)
# Everything is measured as of the build, so users and sends that came after it (served by
# cold start and the bot's own filter) do not count. A meme that became servable after the
# build is the one thing it cannot know; the check runs right after the build, so the window
# is short.
ACTIVE_USER_CANDIDATE_COUNTS_DATA = CheckedData(
    "active_user_candidate_counts",
    gates=USER_CANDIDATES,
    # GX takes a query only if it starts with `select`, hence the CTEs in a subquery.
    query=f"""
        select * from (
        with build as (
            select coalesce(max(built_at), now()) as built_at
            from recommendations.user_candidates
        ),
        sends_before_build as (
            select reactions.user_id, reactions.meme_id, reactions.sent_at, reactions.reacted_at
            from app.user_meme_reaction as reactions
            cross join build
            where reactions.sent_at < build.built_at
        ),
        active_users as (
            select sends_before_build.user_id
            from sends_before_build
            cross join build
            inner join app."user" as users
                on sends_before_build.user_id = users.id
            where
                coalesce(sends_before_build.reacted_at, sends_before_build.sent_at)
                >= build.built_at - interval '{ACTIVE_USER_WINDOW_DAYS} days'
                -- nothing is sent to a user who blocked the bot, so no list is made
                and users.blocked_bot_at is null
            group by sends_before_build.user_id
        ),
        servable_memes as (
            select id as meme_id
            from app.meme
            where status = 'ok' and telegram_file_id is not null
        ),
        sent_servable_counts as (
            select sends_before_build.user_id, count(*) as count_sent
            from sends_before_build
            inner join servable_memes
                on sends_before_build.meme_id = servable_memes.meme_id
            group by sends_before_build.user_id
        ),
        candidate_counts as (
            select user_id, count(*) as count_candidates
            from recommendations.user_candidates
            group by user_id
        )
        select
            active_users.user_id,
            coalesce(candidate_counts.count_candidates, 0) as count_candidates,
            (select count(*) from servable_memes)
            - coalesce(sent_servable_counts.count_sent, 0) as count_unseen_servable_memes
        from active_users
        left join candidate_counts
            on active_users.user_id = candidate_counts.user_id
        left join sent_servable_counts
            on active_users.user_id = sent_servable_counts.user_id
        ) as active_user_candidate_counts
    """,
    row_id_columns=("user_id",),
)


ROW_CONDITION_OPERATORS: Mapping[str, Callable[[Any, Any], Any]] = {
    "!=": operator.ne,
    ">": operator.gt,
}


@dataclass(frozen=True)
class RowCondition:
    """Only rows where `column <operator> value` are checked."""

    column: str
    operator: str
    value: float


@dataclass(frozen=True)
class GxExpectation:
    """A GX expectation class (great_expectations.expectations) by name, with its arguments.

    Built only when the suite runs: importing GX costs about 3 s of CPU, which every Dagster
    process that loads the definitions would otherwise pay.
    """

    type_name: str
    arguments: Mapping[str, Any]
    row_condition: RowCondition | None = None

    def build(self, meta: Mapping[str, Any]) -> gxe.Expectation:
        import great_expectations.expectations as gxe
        from great_expectations.expectations.row_conditions import Column

        arguments = dict(self.arguments)
        if self.row_condition is not None:
            condition = self.row_condition
            compare = ROW_CONDITION_OPERATORS[condition.operator]
            arguments["row_condition"] = compare(Column(condition.column), condition.value)
        expectation_class: type[gxe.Expectation] = getattr(gxe, self.type_name)
        return expectation_class(**arguments, meta=dict(meta))


def _gx(
    type_name: str, *, row_condition: RowCondition | None = None, **arguments: Any
) -> GxExpectation:
    return GxExpectation(type_name, arguments, row_condition)


@dataclass(frozen=True)
class FeedExpectation:
    """One named GX expectation on one batch of data."""

    name: str
    data: CheckedData
    expectation: GxExpectation

    @property
    def gates(self) -> TableName:
        return self.data.gates


def _not_negative(data: CheckedData, column: str) -> FeedExpectation:
    return FeedExpectation(
        f"{data.name}.{column}_not_negative",
        data,
        _gx("ExpectColumnValuesToBeBetween", column=column, min_value=0),
    )


FEED_EXPECTATIONS: tuple[FeedExpectation, ...] = (
    # ------------------------------------------------------------------ marts.meme_stats
    _not_negative(MEME_STATS_DATA, "nlikes"),
    _not_negative(MEME_STATS_DATA, "ndislikes"),
    _not_negative(MEME_STATS_DATA, "nmemes_sent"),
    FeedExpectation(
        "meme_stats.reactions_within_sends",
        MEME_STATS_DATA,
        _gx(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            column_A="nmemes_sent",
            column_B="nreactions",
            or_equal=True,
        ),
    ),
    FeedExpectation(
        "meme_stats.lr_smoothed_within_bounds",
        MEME_STATS_DATA,
        _gx(
            "ExpectColumnValuesToBeBetween",
            column="lr_smoothed",
            min_value=-LR_SMOOTHED_BOUND,
            max_value=LR_SMOOTHED_BOUND,
        ),
    ),
    FeedExpectation(
        "meme_stats.lr_smoothed_not_null",
        MEME_STATS_DATA,
        _gx("ExpectColumnValuesToNotBeNull", column="lr_smoothed"),
    ),
    FeedExpectation(
        "meme_stats.sec_to_react_within_window_or_sentinel",
        MEME_STATS_DATA,
        _gx(
            "ExpectColumnValuesToBeBetween",
            column="sec_to_react",
            min_value=0.5,
            max_value=60,
            row_condition=RowCondition("sec_to_react", "!=", NO_REACTION_TIME_SENTINEL),
        ),
    ),
    # ------------------------------------------------------------------ marts.user_stats
    _not_negative(USER_STATS_DATA, "nmemes_sent"),
    _not_negative(USER_STATS_DATA, "nsessions"),
    FeedExpectation(
        # every session holds at least one reaction, and every reaction follows a send
        "user_stats.sessions_within_sends",
        USER_STATS_DATA,
        _gx(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            column_A="nmemes_sent",
            column_B="nsessions",
            or_equal=True,
        ),
    ),
    # ----------------------------------------------------- recommendations.user_candidates
    FeedExpectation(
        "user_candidates.rank_from_one",
        USER_CANDIDATES_DATA,
        _gx("ExpectColumnValuesToBeBetween", column="rank", min_value=1),
    ),
    FeedExpectation(
        "user_candidates.score_not_null",
        USER_CANDIDATES_DATA,
        _gx("ExpectColumnValuesToNotBeNull", column="score"),
    ),
    FeedExpectation(
        "user_candidates.one_row_per_user_and_meme",
        USER_CANDIDATES_DATA,
        _gx("ExpectCompoundColumnsToBeUnique", column_list=["user_id", "meme_id"]),
    ),
    FeedExpectation(
        "user_candidate_memes.telegram_file_id_not_null",
        USER_CANDIDATE_MEMES_DATA,
        _gx("ExpectColumnValuesToNotBeNull", column="telegram_file_id"),
    ),
    FeedExpectation(
        # app.meme accepts '' where only null is forbidden, and Telegram rejects it on send
        "user_candidate_memes.telegram_file_id_not_empty",
        USER_CANDIDATE_MEMES_DATA,
        _gx("ExpectColumnValueLengthsToBeBetween", column="telegram_file_id", min_value=1),
    ),
    FeedExpectation(
        "user_candidate_memes.status_ok",
        USER_CANDIDATE_MEMES_DATA,
        # value_set ignores nulls; the left join's missing meme shows in the file-id check
        _gx("ExpectColumnValuesToBeInSet", column="status", value_set=["ok"]),
    ),
    FeedExpectation(
        "user_candidate_sends.none_sent_before_build",
        USER_CANDIDATE_SENDS_DATA,
        _gx("ExpectColumnValuesToBeNull", column="sent_before_build_at"),
    ),
    FeedExpectation(
        # a user who has seen every servable meme legitimately has none
        "active_user_candidate_counts.candidates_while_unseen_memes_exist",
        ACTIVE_USER_CANDIDATE_COUNTS_DATA,
        _gx(
            "ExpectColumnValuesToBeBetween",
            column="count_candidates",
            min_value=1,
            row_condition=RowCondition("count_unseen_servable_memes", ">", 0),
        ),
    ),
    # ----------------------------------------------- recommendations.cold_start_candidates
    FeedExpectation(
        "cold_start_candidates.rank_from_one",
        COLD_START_CANDIDATES_DATA,
        _gx("ExpectColumnValuesToBeBetween", column="rank", min_value=1),
    ),
    FeedExpectation(
        "cold_start_candidates.score_not_null",
        COLD_START_CANDIDATES_DATA,
        _gx("ExpectColumnValuesToNotBeNull", column="score"),
    ),
    FeedExpectation(
        "cold_start_candidates.one_row_per_language_and_meme",
        COLD_START_CANDIDATES_DATA,
        _gx("ExpectCompoundColumnsToBeUnique", column_list=["language_code", "meme_id"]),
    ),
    FeedExpectation(
        "cold_start_candidate_memes.telegram_file_id_not_null",
        COLD_START_CANDIDATE_MEMES_DATA,
        _gx("ExpectColumnValuesToNotBeNull", column="telegram_file_id"),
    ),
    FeedExpectation(
        "cold_start_candidate_memes.telegram_file_id_not_empty",
        COLD_START_CANDIDATE_MEMES_DATA,
        _gx("ExpectColumnValueLengthsToBeBetween", column="telegram_file_id", min_value=1),
    ),
    FeedExpectation(
        "cold_start_candidate_memes.status_ok",
        COLD_START_CANDIDATE_MEMES_DATA,
        _gx("ExpectColumnValuesToBeInSet", column="status", value_set=["ok"]),
    ),
)


def expectations_gating(table: TableName) -> tuple[FeedExpectation, ...]:
    return tuple(expectation for expectation in FEED_EXPECTATIONS if expectation.gates == table)


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ExpectationOutcome:
    """What one expectation found.

    `observed_value` is GX's own for aggregate expectations and the number of unexpected rows
    for row-by-row ones; `unexpected_examples` identifies a few of those rows.
    """

    name: str
    gates: TableName
    success: bool
    observed_value: Any = None
    row_count: int | None = None
    unexpected_examples: tuple[Any, ...] = ()
    error: str | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"{self.name}: error: {self.error}"
        observed = f"{self.name}: observed {self.observed_value}"
        if self.row_count is not None:
            observed += f" unexpected of {self.row_count} rows"
        if self.unexpected_examples:
            observed += f", e.g. {list(self.unexpected_examples)}"
        return observed


@dataclass(frozen=True)
class FeedExpectationsResult:
    outcomes: tuple[ExpectationOutcome, ...]
    seconds: float = field(default=0.0, compare=False)

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failed(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.success)

    @property
    def failed_names(self) -> list[str]:
        return [outcome.name for outcome in self.failed]

    def describe_failures(self) -> str:
        return "\n".join(outcome.describe() for outcome in self.failed)


# ------------------------------------------------------------------------------ running


def run_feed_expectations(
    database_url: str, gated_tables: Collection[TableName] = GATED_TABLES
) -> FeedExpectationsResult:
    """Validate the expectations gating `gated_tables` against the database.

    A table or column that is missing fails the expectations that read it (with the error as
    their observation) rather than raising; a database that cannot be reached raises.
    """
    started = time.perf_counter()
    import great_expectations as gx

    expectations = [e for e in FEED_EXPECTATIONS if e.gates in gated_tables]
    context = gx.get_context(mode="ephemeral", project_config=_quiet_context_config())
    # The generic SQL source: the postgres one rejects a Unix-socket URL (no host), which the
    # embedded PostgreSQL of the main job uses.
    datasource = context.data_sources.add_sql(
        name="memefeed", connection_string=sqlalchemy_url(database_url)
    )
    outcomes: list[ExpectationOutcome] = []
    try:
        for data, on_data in _grouped_by_data(expectations).items():
            outcomes += _validate(datasource, data, on_data)
    finally:
        # Each run has its own engine; without this its pooled connections outlive the run.
        datasource.get_execution_engine().close()
    by_definition_order = {e.name: position for position, e in enumerate(FEED_EXPECTATIONS)}
    outcomes.sort(key=lambda outcome: by_definition_order[outcome.name])
    return FeedExpectationsResult(tuple(outcomes), time.perf_counter() - started)


def _quiet_context_config() -> DataContextConfig:
    """In memory only: no stores or data docs on disk, no usage statistics, no progress bars."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )


def _grouped_by_data(
    expectations: list[FeedExpectation],
) -> dict[CheckedData, list[FeedExpectation]]:
    grouped: dict[CheckedData, list[FeedExpectation]] = {}
    for expectation in expectations:
        grouped.setdefault(expectation.data, []).append(expectation)
    return grouped


def _validate(
    datasource: Any, data: CheckedData, expectations: list[FeedExpectation]
) -> Iterator[ExpectationOutcome]:
    try:
        if data.table is not None:
            schema, table = data.table
            asset = datasource.add_table_asset(
                name=data.name, schema_name=schema, table_name=table
            )
        else:
            asset = datasource.add_query_asset(name=data.name, query=data.query)
        batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
    except Exception as error:
        for expectation in expectations:
            yield ExpectationOutcome(
                expectation.name, expectation.gates, success=False, error=_one_line(error)
            )
        return

    import great_expectations as gx

    suite = gx.ExpectationSuite(
        name=data.name,
        expectations=[
            expectation.expectation.build(meta={NAME_META_KEY: expectation.name})
            for expectation in expectations
        ],
    )
    validation = batch.validate(
        suite,
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": UNEXPECTED_EXAMPLES,
            "unexpected_index_column_names": list(data.row_id_columns),
        },
    )
    gates = {expectation.name: expectation.gates for expectation in expectations}
    for result in validation.results:
        name = result.expectation_config.meta[NAME_META_KEY]
        yield _outcome(name, gates[name], result.success, result.result, result.exception_info)


def _outcome(
    name: str,
    gates: TableName,
    success: bool | None,
    result: Mapping[str, Any],
    exception_info: Mapping[str, Any] | None,
) -> ExpectationOutcome:
    error = _exception_message(exception_info or {})
    if error is not None:
        return ExpectationOutcome(name, gates, success=False, error=error)
    if "observed_value" in result:
        return ExpectationOutcome(name, gates, bool(success), result["observed_value"])
    examples = result.get("partial_unexpected_index_list") or result.get(
        "partial_unexpected_list", []
    )
    return ExpectationOutcome(
        name,
        gates,
        bool(success),
        observed_value=result.get("unexpected_count") or 0,
        row_count=result.get("element_count"),
        unexpected_examples=tuple(examples),
    )


def _exception_message(exception_info: Mapping[str, Any]) -> str | None:
    """GX reports an error either flat or keyed by the metric that raised it."""
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for value in exception_info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _one_line(error: Exception, max_length: int = 500) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= max_length else text[: max_length - 3] + "..."
