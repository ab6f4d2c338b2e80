"""Simulated people scrolling the feed through the real bot, over the local Bot API emulator."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from memefeed.telegram_emulator import BotMessage, SimulatedUser, TelegramEmulator

REACTION_PREFIX = "r:"
RETRY_CALLBACK = "q:retry"


@dataclass(frozen=True)
class Persona:
    user_id: int
    first_name: str
    language_code: str
    # How likely this person likes a meme; the rest are dislikes.
    like_probability: float


@dataclass
class SessionLog:
    user_id: int
    meme_ids: list[int] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    likes: int = 0
    dislikes: int = 0
    memes_ended: bool = False


def personas(count: int, *, seed: int = 11) -> list[Persona]:
    rng = random.Random(seed)
    names = [("Alice", "en"), ("Борис", "ru"), ("Carmen", "es"), ("Dmitri", "ru"), ("Emma", "en")]
    return [
        Persona(
            user_id=700_000 + index,
            first_name=names[index % len(names)][0],
            language_code=names[index % len(names)][1],
            like_probability=round(rng.uniform(0.35, 0.8), 2),
        )
        for index in range(count)
    ]


def meme_id_of(message: BotMessage) -> int | None:
    """The meme a bot message shows, read from its like button (`r:<meme_id>:1`)."""
    for button in message.buttons:
        data = button.callback_data or ""
        if data.startswith(REACTION_PREFIX):
            return int(data.split(":")[1])
    return None


def _shows_meme_or_end(message: BotMessage) -> bool:
    return meme_id_of(message) is not None or any(
        button.callback_data == RETRY_CALLBACK for button in message.buttons
    )


async def scroll_session(
    user: SimulatedUser,
    persona: Persona,
    reactions: int,
    rng: random.Random,
    *,
    command: str = "/start",
    think_seconds: tuple[float, float] = (0.01, 0.08),
    patience_seconds: float = 30.0,
) -> SessionLog:
    """Open the bot with `command` and react to `reactions` memes, as a person would."""
    log = SessionLog(persona.user_id)
    await user.send_text(command)
    message = await user.wait_for(_shows_meme_or_end, patience_seconds)
    for _ in range(reactions):
        meme_id = meme_id_of(message)
        if meme_id is None:
            log.memes_ended = True
            break
        log.meme_ids.append(meme_id)
        log.file_ids.append(message.photo_file_id or "")
        await asyncio.sleep(rng.uniform(*think_seconds))
        liked = rng.random() < persona.like_probability
        log.likes += liked
        log.dislikes += not liked
        await user.press(message, f"{REACTION_PREFIX}{meme_id}:{1 if liked else 2}")
        message = await user.wait_for(_shows_meme_or_end, patience_seconds)
    return log


async def scroll_everyone(
    emulator: TelegramEmulator, people: list[Persona], reactions: int, *, seed: int
) -> list[SessionLog]:
    """Everyone scrolls at the same time, each with their own pace and taste."""
    sessions = []
    for persona in people:
        user = emulator.user(
            persona.user_id, first_name=persona.first_name, language_code=persona.language_code
        )
        rng = random.Random(seed * 1_000_003 + persona.user_id)
        sessions.append(scroll_session(user, persona, reactions, rng))
    return list(await asyncio.gather(*sessions))
