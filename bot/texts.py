"""What the bot says, in English and Russian; the interface language follows the user's."""

from __future__ import annotations

from typing import Final

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "welcome": "Welcome! Here is your endless meme feed: ❤️ what you like, ⏬ what you don't.",
        "pick_language": "Which memes do you read? One tap, change it any time with /lang.",
        "language_set": "Done: your feed is now in {languages}.",
        "memes_ended": "⏳ You've seen every meme we have. New ones are coming, try again soon.",
        "retry": "🔄 Try again",
        "already_counted": "Already counted 👌",
        "not_your_meme": "This button isn't for you.",
        "bad_button": "This button no longer works. Send /start to continue.",
        "share_link": "memefeed",
        "help": (
            "Tap ❤️ or ⏬ under a meme and the next one comes.\n\n"
            "/start: continue the feed\n/lang: the languages of your memes\n"
            "/stats: your numbers\n/last: your last reaction, to change it\n"
            "Send a photo to suggest a meme: moderators review it."
        ),
        "stats": (
            "Memes you reacted to: {memes_seen}\nLikes: {likes} ({like_rate:.0%})\n"
            "Active days: {active_days}\nFriends you invited: {invited_users}"
        ),
        "no_last": "You haven't reacted to a meme yet. /start",
        "last": "Your last reaction: {reaction}. Tap the other button to change it.",
        "reaction_changed": "Changed 👌",
        "upload_received": "Thanks! Your meme went to the moderators.",
        "upload_limit": "That's {limit} memes today already; send more tomorrow.",
        "upload_unknown_user": "Send /start first, then your meme.",
        "not_an_image": "I can only take memes as photos. Send the picture as a photo.",
        "upload_approved": "Your meme was approved and is in the feed now 🎉",
        "upload_rejected": "Your meme was not approved this time.",
        "moderators_only": "Only moderators can do that.",
        "already_reviewed": "Someone already reviewed this one.",
        "admins_only": "Only admins can do that.",
        "admin_stats": (
            "Active users (24 h): {active_users_24h}\nReactions today: {reactions_today}\n"
            "Memes per session (24 h): {memes_per_session:.1f}"
        ),
        "broadcast_usage": "Usage: /broadcast ID TEXT; the ID (a-z, 0-9, -, _) sends it once.",
        "broadcast_duplicate": "Broadcast {broadcast_id} was already sent; pick a new id.",
        "broadcast_started": "Broadcast {broadcast_id}: sending to {recipients} users.",
        "broadcast_done": "Broadcast {broadcast_id}: delivered to {delivered} users.",
    },
    "ru": {
        "welcome": "Привет! Вот твоя бесконечная лента мемов: ❤️ если нравится, ⏬ если нет.",
        "pick_language": "На каком языке мемы? Один тап, поменять можно в /lang.",
        "language_set": "Готово: лента теперь на {languages}.",
        "memes_ended": "⏳ Ты посмотрел все мемы. Новые уже в пути, загляни чуть позже.",
        "retry": "🔄 Попробовать снова",
        "already_counted": "Уже учтено 👌",
        "not_your_meme": "Эта кнопка не для тебя.",
        "bad_button": "Эта кнопка больше не работает. Нажми /start, чтобы продолжить.",
        "share_link": "memefeed",
        "help": (
            "Жми ❤️ или ⏬ под мемом, и придёт следующий.\n\n"
            "/start: продолжить ленту\n/lang: языки мемов\n/stats: твоя статистика\n"
            "/last: последняя реакция, чтобы её поменять\n"
            "Пришли фото, чтобы предложить мем: его посмотрят модераторы."
        ),
        "stats": (
            "Мемов с реакцией: {memes_seen}\nЛайков: {likes} ({like_rate:.0%})\n"
            "Активных дней: {active_days}\nПриглашённых друзей: {invited_users}"
        ),
        "no_last": "Ты ещё не реагировал на мемы. /start",
        "last": "Твоя последняя реакция: {reaction}. Нажми другую кнопку, чтобы поменять.",
        "reaction_changed": "Поменяли 👌",
        "upload_received": "Спасибо! Мем отправлен модераторам.",
        "upload_limit": "Сегодня уже {limit} мемов; пришли ещё завтра.",
        "upload_unknown_user": "Сначала нажми /start, потом присылай мем.",
        "not_an_image": "Я принимаю мемы только как фото. Пришли картинку фотографией.",
        "upload_approved": "Твой мем одобрен и уже в ленте 🎉",
        "upload_rejected": "В этот раз мем не прошёл модерацию.",
        "moderators_only": "Это могут только модераторы.",
        "already_reviewed": "Этот мем уже проверили.",
        "admins_only": "Это могут только админы.",
        "admin_stats": (
            "Активных за 24 ч: {active_users_24h}\nРеакций сегодня: {reactions_today}\n"
            "Мемов за сессию (24 ч): {memes_per_session:.1f}"
        ),
        "broadcast_usage": "Формат: /broadcast ID ТЕКСТ; ID (a-z, 0-9, -, _) делает её разовой.",
        "broadcast_duplicate": "Рассылка {broadcast_id} уже была; выбери новый id.",
        "broadcast_started": "Рассылка {broadcast_id}: отправляем {recipients} пользователям.",
        "broadcast_done": "Рассылка {broadcast_id}: доставлено {delivered} пользователям.",
    },
}
DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_NAMES: Final[dict[str, str]] = {"en": "English", "ru": "Русский"}


def interface_language(
    languages: tuple[str, ...] | list[str], telegram_language: str | None
) -> str:
    """Russian for anyone who reads it, English otherwise (the only two interface languages)."""
    candidates = [*languages, (telegram_language or "").split("-")[0].lower()]
    return "ru" if "ru" in candidates else DEFAULT_LANGUAGE


def text(language: str, key: str, **values: object) -> str:
    template = TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])[key]
    return template.format(**values) if values else template
