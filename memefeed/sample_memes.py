"""A sample of meme images drawn locally, so the main job needs nothing from the network."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

TOP_LINES = {
    "en": [
        "when the build",
        "me at 3 am",
        "nobody:",
        "the data team",
        "my code",
        "prod on friday",
    ],
    "ru": ["когда билд", "я в 3 ночи", "никто:", "аналитики", "мой код", "прод в пятницу"],
}
# Pillow's built-in font has no Cyrillic; a system DejaVu, where there is one, does.
CYRILLIC_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    Path("/Library/Fonts/Arial Unicode.ttf"),
)
BOTTOM_LINES = {
    "en": ["is finally green", "one more meme", "literally nobody", "ships it", "works?", "oops"],
    "ru": ["наконец зелёный", "ещё один мем", "вообще никто", "катит в прод", "работает?", "упс"],
}


def generate_sample_memes(folder: Path, count: int, *, seed: int = 7) -> list[Path]:
    """Draw `count` distinct images with captions in English and Russian (2:1) into `folder`.

    Each image gets a `<stem>.json` sidecar with its caption and language; a rerun with the same
    arguments draws identical files, so ingestion sees nothing new.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob("meme_*.png"), *folder.glob("meme_*.json")]:
        stale.unlink()
    rng = random.Random(seed)
    paths = []
    for index in range(count):
        language = "ru" if index % 3 == 2 else "en"
        top = rng.choice(TOP_LINES[language])
        bottom = rng.choice(BOTTOM_LINES[language])
        image = _draw(rng, top, f"{bottom} #{index + 1}")
        path = folder / f"meme_{index + 1:04d}.png"
        image.save(path, format="PNG")
        path.with_suffix(".json").write_text(
            json.dumps(
                {"caption": f"{top} {bottom}", "language_code": language}, ensure_ascii=False
            )
        )
        paths.append(path)
    return paths


def _draw(rng: random.Random, top: str, bottom: str) -> Image.Image:
    width, height = rng.choice([(640, 640), (720, 540), (540, 720)])
    image = Image.new("RGB", (width, height), _colour(rng))
    draw = ImageDraw.Draw(image)
    # Random blocks of light and dark make every image's perceptual hash different.
    for _ in range(rng.randint(6, 12)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randint(40, width // 2), y0 + rng.randint(40, height // 2)
        shape = rng.choice([draw.rectangle, draw.ellipse])
        shape((x0, y0, x1, y1), fill=_colour(rng), outline=(0, 0, 0), width=3)
    font, draws_cyrillic = _font(max(28, width // 14))
    if not draws_cyrillic and not (top + bottom).isascii():
        top, bottom = "(ru)", bottom.rsplit(" ", 1)[-1]
    for text, y in ((top, height // 12), (bottom, height - height // 5)):
        draw.text(
            (width // 2, y),
            text.upper(),
            font=font,
            fill=(255, 255, 255),
            stroke_width=3,
            stroke_fill=(0, 0, 0),
            anchor="ma",
        )
    return image


def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    for path in CYRILLIC_FONT_PATHS:
        if path.exists():
            return ImageFont.truetype(str(path), size=size), True
    return ImageFont.load_default(size=size), False


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))
