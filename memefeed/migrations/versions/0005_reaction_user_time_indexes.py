"""Per-user time indexes on app.user_meme_reaction for the incremental dbt models.

An incremental build of int_reactions_scored re-reads each changed user's sends from a point
in time on (user_id, sent_at >= t), and int_reactions_sessionised each changed user's
reactions (user_id, reacted_at >= t). Without these indexes both sorted all 10M reactions to
find a few hundred thousand (7-10 s each at full size; 2-3 s with them). Built concurrently,
so the bot keeps writing reactions while a large table is indexed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            """
            create index concurrently if not exists user_meme_reaction_user_sent_at_idx
                on app.user_meme_reaction (user_id, sent_at)
            """
        )
        op.execute(
            """
            create index concurrently if not exists user_meme_reaction_user_reacted_at_idx
                on app.user_meme_reaction (user_id, reacted_at)
                where reacted_at is not null
            """
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("drop index concurrently if exists app.user_meme_reaction_user_reacted_at_idx")
        op.execute("drop index concurrently if exists app.user_meme_reaction_user_sent_at_idx")
