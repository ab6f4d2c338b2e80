"""A hand-written SVG bar chart of one benchmark run (no plotting library needed)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

BAR_HEIGHT = 18
ROW_GAP = 6
LABEL_WIDTH = 330
BAR_AREA_WIDTH = 420
VALUE_WIDTH = 170


@dataclass(frozen=True)
class Bar:
    label: str
    seconds: float
    note: str = ""
    colour: str = "#4c78a8"


@dataclass(frozen=True)
class Section:
    title: str
    bars: list[Bar]
    # vertical dashed lines: (seconds, label)
    markers: tuple[tuple[float, str], ...] = ()


def write_chart(path: Path, title: str, subtitle: str, sections: list[Section]) -> None:
    rows: list[str] = []
    y = 50
    for section in sections:
        longest = max(
            [bar.seconds for bar in section.bars] + [seconds for seconds, _ in section.markers]
        )
        scale = BAR_AREA_WIDTH / max(longest, 1e-9)
        rows.append(f'<text x="10" y="{y + 14}" font-weight="bold">{escape(section.title)}</text>')
        y += 24
        top = y
        for bar in section.bars:
            width = max(bar.seconds * scale, 1.0)
            rows.append(
                f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end">'
                f"{escape(bar.label)}</text>"
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{bar.colour}"/>'
                f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 13}">'
                f"{bar.seconds:,.1f} s {escape(bar.note)}</text>"
            )
            y += BAR_HEIGHT + ROW_GAP
        for seconds, label in section.markers:
            x = LABEL_WIDTH + seconds * scale
            rows.append(
                f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y}" stroke="#e45756" '
                f'stroke-dasharray="4 3"/>'
                f'<text x="{x + 3:.1f}" y="{y + 12}" fill="#e45756" font-size="11">'
                f"{escape(label)}</text>"
            )
        y += 28
    width = LABEL_WIDTH + BAR_AREA_WIDTH + VALUE_WIDTH
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" '
        f'font-family="sans-serif" font-size="12">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>'
        f'<text x="10" y="38" fill="#555">{escape(subtitle)}</text>' + "".join(rows) + "</svg>\n"
    )
