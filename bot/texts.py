"""What the bot says, in English and Russian; the interface language follows the user's."""

from __future__ import annotations

from typing import Final

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "welcome": "Welcome! Here is your endless meme feed: ❤️ what you like, ⏬ what you don't.",
        "memes_ended": "⏳ You've seen every meme we have. New ones are coming, try again soon.",
        "retry": "🔄 Try again",
        "already_counted": "Already counted 👌",
        "not_your_meme": "This button isn't for you.",
        "bad_button": "This button no longer works. Send /start to continue.",
        "share_link": "memefeed",
    },
    "ru": {
        "welcome": "Привет! Вот твоя бесконечная лента мемов: ❤️ если нравится, ⏬ если нет.",
        "memes_ended": "⏳ Ты посмотрел все мемы. Новые уже в пути, загляни чуть позже.",
        "retry": "🔄 Попробовать снова",
        "already_counted": "Уже учтено 👌",
        "not_your_meme": "Эта кнопка не для тебя.",
        "bad_button": "Эта кнопка больше не работает. Нажми /start, чтобы продолжить.",
        "share_link": "memefeed",
    },
}
DEFAULT_LANGUAGE: Final = "en"


def interface_language(
    languages: tuple[str, ...] | list[str], telegram_language: str | None
) -> str:
    """Russian for anyone who reads it, English otherwise (the only two interface languages)."""
    candidates = [*languages, (telegram_language or "").split("-")[0].lower()]
    return "ru" if "ru" in candidates else DEFAULT_LANGUAGE


def text(language: str, key: str) -> str:
    return TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])[key]
