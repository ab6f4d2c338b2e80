"""The operational `app` schema: sources, raw posts, memes, users, reactions.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        create table app.meme_source (
            id              serial primary key,
            type            text not null
                check (type in ('telegram', 'vk', 'reddit', 'instagram', 'local',
                                'user upload')),
            url             text not null unique,
            status          text not null default 'parsing_enabled'
                check (status in ('in_moderation', 'parsing_enabled', 'parsing_disabled',
                                  'snoozed')),
            language_code   text,
            added_by        bigint,
            data            jsonb not null default '{}'::jsonb,
            parsed_at       timestamptz,
            created_at      timestamptz not null default now(),
            updated_at      timestamptz not null default now()
        );

        create table app.meme_raw_telegram (
            id              bigserial primary key,
            meme_source_id  integer not null references app.meme_source (id),
            post_id         bigint not null,
            url             text not null,
            date            timestamptz not null,
            content         text,
            out_links       jsonb not null default '[]'::jsonb,
            mentions        jsonb not null default '[]'::jsonb,
            hashtags        jsonb not null default '[]'::jsonb,
            forwarded       jsonb,
            forwarded_url   text,
            media           jsonb not null default '[]'::jsonb,
            views           integer not null default 0,
            link_preview    jsonb,
            created_at      timestamptz not null default now(),
            updated_at      timestamptz not null default now(),
            unique (meme_source_id, post_id)
        );

        create table app.meme_raw_local (
            id              bigserial primary key,
            meme_source_id  integer not null references app.meme_source (id),
            relative_path   text not null,
            content_sha256  text not null,
            caption         text,
            language_code   text,
            date            timestamptz not null,
            created_at      timestamptz not null default now(),
            updated_at      timestamptz not null default now(),
            unique (meme_source_id, relative_path)
        );

        create table app.meme (
            id                  bigserial primary key,
            meme_source_id      integer not null references app.meme_source (id),
            raw_meme_id         bigint not null,
            status              text not null default 'created'
                check (status in ('created', 'ok', 'duplicate', 'ad', 'broken_content_link',
                                  'expired_content_link', 'not_an_image', 'too_large',
                                  'published', 'waiting_review', 'rejected', 'snoozed')),
            status_reason       text,
            type                text not null default 'image'
                check (type in ('image', 'animation', 'video')),
            telegram_file_id    text,
            caption             text,
            language_code       text,
            content_url         text,
            content_sha256      text,
            perceptual_hash     bigint,
            width               integer,
            height              integer,
            duplicate_of        bigint references app.meme (id),
            published_at        timestamptz not null,
            created_at          timestamptz not null default now(),
            updated_at          timestamptz not null default now(),
            unique (meme_source_id, raw_meme_id),
            check (status <> 'ok' or telegram_file_id is not null)
        );
        create index meme_status_language_idx on app.meme (status, language_code);

        create table app."user" (
            id              bigint primary key,
            nickname        text,
            type            text not null default 'user'
                check (type in ('waitlist', 'user', 'active_user', 'super_user', 'blocked_bot',
                                'moderator', 'admin', 'banned')),
            inviter_id      bigint references app."user" (id),
            created_at      timestamptz not null default now(),
            last_active_at  timestamptz,
            blocked_bot_at  timestamptz,
            check (inviter_id is null or inviter_id <> id)
        );
        create index user_created_at_idx on app."user" (created_at);

        create table app.user_tg (
            id              bigint primary key references app."user" (id),
            username        text,
            first_name      text not null,
            last_name       text,
            is_premium      boolean,
            language_code   text,
            deep_link       text,
            created_at      timestamptz not null default now(),
            updated_at      timestamptz not null default now()
        );

        create table app.user_language (
            user_id         bigint not null references app."user" (id),
            language_code   text not null,
            created_at      timestamptz not null default now(),
            primary key (user_id, language_code)
        );

        create table app.user_meme_reaction (
            user_id         bigint not null references app."user" (id),
            meme_id         bigint not null references app.meme (id),
            recommended_by  text not null,
            sent_at         timestamptz not null default now(),
            reaction_id     smallint check (reaction_id in (1, 2)),
            reacted_at      timestamptz,
            primary key (user_id, meme_id),
            check ((reaction_id is null) = (reacted_at is null))
        );
        create index user_meme_reaction_meme_idx on app.user_meme_reaction (meme_id);
        create index user_meme_reaction_sent_at_idx on app.user_meme_reaction (sent_at);
        create index user_meme_reaction_reacted_at_idx on app.user_meme_reaction (reacted_at)
            where reacted_at is not null;

        create table app.user_deep_link_log (
            id              bigserial primary key,
            user_id         bigint not null references app."user" (id),
            deep_link       text not null,
            created_at      timestamptz not null default now()
        );
        create index user_deep_link_log_user_idx on app.user_deep_link_log (user_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop table app.user_deep_link_log;
        drop table app.user_meme_reaction;
        drop table app.user_language;
        drop table app.user_tg;
        drop table app."user";
        drop table app.meme;
        drop table app.meme_raw_local;
        drop table app.meme_raw_telegram;
        drop table app.meme_source;
        """
    )
