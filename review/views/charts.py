"""Geometry of the small server-side SVG charts of the county summary (no JavaScript library,
no CDN). The templates draw the shapes; everything here is plain arithmetic on counts."""

from dataclasses import dataclass

BAR_LABEL_WIDTH = 230
BAR_AREA_WIDTH = 420
BAR_VALUE_WIDTH = 70
BAR_ROW_HEIGHT = 26
BAR_THICKNESS = 18
CHART_PADDING = 8

TREND_WIDTH = 720
TREND_HEIGHT = 220
TREND_LEFT = 48
TREND_RIGHT = 24
TREND_TOP = 20
TREND_BOTTOM = 40


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int  # top of the row
    bar_y: int
    bar_width: int
    text_y: int
    value_x: int
    href: str = ""


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bars: list[Bar]
    maximum: int


def bar_chart(entries: list[tuple[str, int, str]]) -> BarChart:
    """Horizontal bars, one per ``(label, value, href)``, scaled to the largest value."""
    maximum = max((value for _, value, _ in entries), default=0)
    bars = []
    for position, (label, value, href) in enumerate(entries):
        top = CHART_PADDING + position * BAR_ROW_HEIGHT
        width = round(BAR_AREA_WIDTH * value / maximum) if maximum else 0
        if value and width < 2:
            width = 2  # a non-zero count stays visible
        bars.append(
            Bar(
                label=label,
                value=value,
                y=top,
                bar_y=top + (BAR_ROW_HEIGHT - BAR_THICKNESS) // 2,
                bar_width=width,
                text_y=top + BAR_ROW_HEIGHT // 2 + 5,
                value_x=BAR_LABEL_WIDTH + width + 6,
                href=href,
            )
        )
    return BarChart(
        width=BAR_LABEL_WIDTH + BAR_AREA_WIDTH + BAR_VALUE_WIDTH,
        height=2 * CHART_PADDING + len(entries) * BAR_ROW_HEIGHT,
        label_width=BAR_LABEL_WIDTH,
        bars=bars,
        maximum=maximum,
    )


@dataclass(frozen=True)
class TrendPointShape:
    label: str
    value: int
    x: int
    y: int


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int  # y of the x axis
    points: list[TrendPointShape]
    polyline: str
    maximum: int


def trend_chart(entries: list[tuple[str, int]]) -> TrendChart:
    """A line through ``(label, value)`` from left (oldest) to right (newest)."""
    maximum = max((value for _, value in entries), default=0)
    axis_y = TREND_HEIGHT - TREND_BOTTOM
    span_x = TREND_WIDTH - TREND_LEFT - TREND_RIGHT
    span_y = axis_y - TREND_TOP
    count = len(entries)
    points = []
    for position, (label, value) in enumerate(entries):
        x = TREND_LEFT + (span_x * position // (count - 1) if count > 1 else span_x // 2)
        y = axis_y - (round(span_y * value / maximum) if maximum else 0)
        points.append(TrendPointShape(label=label, value=value, x=x, y=y))
    return TrendChart(
        width=TREND_WIDTH,
        height=TREND_HEIGHT,
        left=TREND_LEFT,
        right=TREND_WIDTH - TREND_RIGHT,
        top=TREND_TOP,
        bottom=axis_y,
        points=points,
        polyline=" ".join(f"{point.x},{point.y}" for point in points),
        maximum=maximum,
    )
