"""Simple bar charts drawn on the server as inline SVG (no script, readable with styles off)."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, AXIS = 640, 180, 20


def bar_chart(points: list[tuple[str, int]], *, title: str, every: int = 1) -> Markup:
    """Bars for (label, value) pairs; each bar has a tooltip, every *every*-th label is written."""
    top = max((value for _label, value in points), default=0) or 1
    step = WIDTH / max(len(points), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + AXIS}" width="100%" role="img"'
        f' aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#555"/>',
        f'<text x="2" y="12" font-size="11" fill="#333">{top}</text>',
    ]
    for index, (label, value) in enumerate(points):
        height = round(HEIGHT * 0.92 * value / top, 1)
        x = round(index * step + step * 0.15, 1)
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - height}" width="{round(step * 0.7, 1)}" height="{height}" fill="#2f6f4f">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text x="{round(index * step + step / 2, 1)}" y="{HEIGHT + 14}" font-size="10"'
                f' text-anchor="middle" fill="#333">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is a number or escaped
