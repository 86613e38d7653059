"""The trend chart: an SVG drawn on the server from the compliance history, readable without colour (each
series has its own mark and dash pattern, labelled in a legend and at its last point) and described for
screen readers (`role="img"` with a title; the page also gives the figures as a table)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from api.compliance.history import HistoryPoint

# (key, label, colour, dash pattern, mark): colours meet 3:1 against white (WCAG 2.2 1.4.11).
SERIES = (
    ("compliant", "Compliant", "#1b5e20", "", "circle"),
    ("at_risk", "At risk", "#7a4100", "8 4", "square"),
    ("non_compliant", "Non-compliant", "#9b1c1c", "2 3", "triangle"),
)
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 170, 20, 48


def _mark(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>'
    if kind == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    corners = f"M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y + 4:.1f} L{x - 5:.1f},{y + 4:.1f} Z"
    return f'<path d="{corners}" fill="{colour}"/>'


def trend_svg(points: Sequence[HistoryPoint], title: str) -> Markup:
    """Groups per status at each point, as lines; an empty frame with a sentence when there are none."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([p.groups.get(k, 0) for p in points for k, *_ in SERIES] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="trend-title" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="trend-title">{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#1a1a1a"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#1a1a1a"/>',
    ]
    for tick in sorted({0, top // 2, top}):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#1a1a1a">{tick}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#d0d0d0"/>')
    if not points:
        parts.append(
            f'<text x="{LEFT + 10}" y="{TOP + 20}" fill="#1a1a1a">Nothing recorded yet.</text></svg>'
        )
        return Markup("".join(parts))  # noqa: S704 - built here from numbers and escaped text
    step = plot_w / max(len(points) - 1, 1)
    xs = [LEFT + i * step for i in range(len(points))]
    for i, p in enumerate(points):
        if i % max(len(points) // 6, 1) == 0 or i == len(points) - 1:
            label = p.on.strftime("%b %Y")
            y = TOP + plot_h + 18
            parts.append(f'<text x="{xs[i]:.1f}" y="{y}" text-anchor="middle" fill="#1a1a1a">{label}</text>')
    for n, (key, label, colour, dash, mark) in enumerate(SERIES):
        ys = [TOP + plot_h - plot_h * p.groups.get(key, 0) / top for p in points]
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(zip(xs, ys, strict=True))
        )
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dashed}/>')
        parts += [_mark(mark, x, y, colour) for x, y in zip(xs, ys, strict=True)]
        last = points[-1].groups.get(key, 0)
        ly = TOP + 14 + n * 22
        lx = LEFT + plot_w + 14
        key_line = f'x1="{lx}" y1="{ly}" x2="{lx + 26}" y2="{ly}"'
        parts.append(f'<line {key_line} stroke="{colour}" stroke-width="2.5"{dashed}/>')
        parts.append(_mark(mark, lx + 13, ly, colour))
        parts.append(f'<text x="{lx + 32}" y="{ly + 4}" fill="#1a1a1a">{escape(label)} ({last})</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built here from numbers and escaped text
