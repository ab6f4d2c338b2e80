"""User uploads awaiting review, and broadcasts delivered at most once per user.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        create table app.meme_raw_upload (
            id                      bigserial primary key,
            user_id                 bigint not null references app."user" (id),
            message_id              bigint not null,
            telegram_file_id        text not null,
            telegram_file_unique_id text not null,
            caption                 text,
            language_code           text,
            status                  text not null default 'pending'
                check (status in ('pending', 'approved', 'rejected')),
            review_chat_id          bigint,
            review_message_id       bigint,
            reviewed_by             bigint references app."user" (id),
            reviewed_at             timestamptz,
            meme_id                 bigint references app.meme (id),
            created_at              timestamptz not null default now(),
            unique (user_id, message_id)
        );
        create index meme_raw_upload_user_created_idx
            on app.meme_raw_upload (user_id, created_at);

        create table app.broadcast (
            id              text primary key,
            text            text not null,
            created_by      bigint not null references app."user" (id),
            created_at      timestamptz not null default now(),
            finished_at     timestamptz
        );

        create table app.broadcast_delivery (
            broadcast_id    text not null references app.broadcast (id),
            user_id         bigint not null references app."user" (id),
            delivered_at    timestamptz not null default now(),
            primary key (broadcast_id, user_id)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop table app.broadcast_delivery;
        drop table app.broadcast;
        drop table app.meme_raw_upload;
        """
    )
