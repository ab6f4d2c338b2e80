"""The `ops` schema: when each admin alert was last sent, for the alerts' cooldown.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        create schema if not exists ops;

        create table ops.alert_log (
            alert_key           text primary key,
            last_sent_at        timestamptz,
            last_text           text,
            sent_count          integer not null default 0,
            suppressed_count    integer not null default 0,
            last_suppressed_at  timestamptz
        );
        comment on table ops.alert_log is
            'One row per admin alert key (a failed job and error class, ghost_users, ...): '
            'when it was last sent and how many repeats the cooldown swallowed since.';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop table ops.alert_log;
        drop schema if exists ops;
        """
    )
