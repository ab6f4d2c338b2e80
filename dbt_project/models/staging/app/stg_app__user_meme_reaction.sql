{# one select, no CTE: PostgreSQL does not inline a view whose query has a WITH into the
   queries reading it, which then could not use the app table's indexes through it #}
select
    user_id,
    meme_id,
    recommended_by,
    sent_at,
    reaction_id,
    reacted_at,
    coalesce(reaction_id = 1, false) as is_liked,
    coalesce(reaction_id = 2, false) as is_disliked,
    reaction_id is not null as is_reacted

from {{ source('app', 'user_meme_reaction') }}
