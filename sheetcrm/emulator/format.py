"""Cell and sheet formatting as Sheets stores it: colours quantised to 8 bits per channel,
zero channels omitted, and every ``Color`` mirrored into its ``ColorStyle`` twin.

The defaults below are copied from Google's answers for a new spreadsheet.
"""

from __future__ import annotations

import copy
import struct

DEFAULT_FORMAT = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _theme(kind: str, r: float = 0, g: float = 0, b: float = 0) -> dict:
    rgb = {k: v for k, v in (("red", r), ("green", g), ("blue", b)) if v}
    return {"colorType": kind, "color": {"rgbColor": rgb}}


DEFAULT_THEME = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        _theme("TEXT"),
        _theme("BACKGROUND", 1, 1, 1),
        _theme("ACCENT1", 0.25882354, 0.52156866, 0.95686275),
        _theme("ACCENT2", 0.91764706, 0.2627451, 0.20784314),
        _theme("ACCENT3", 0.9843137, 0.7372549, 0.015686275),
        _theme("ACCENT4", 0.20392157, 0.65882355, 0.3254902),
        _theme("ACCENT5", 1, 0.42745098, 0.003921569),
        _theme("ACCENT6", 0.27450982, 0.7411765, 0.7764706),
        _theme("LINK", 0.06666667, 0.33333334, 0.8),
    ],
}


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def _channel(value: float) -> float | int:
    """Sheets keeps 8 bits per channel, truncating in single precision, and prints the
    shortest decimal that reads back as the same float32 (0.5 -> 0.49803922)."""
    level = int(_f32(_f32(value) * 255))
    level = max(0, min(255, level))
    if level in (0, 255):
        return level // 255
    stored = _f32(level / 255)
    for digits in range(1, 10):
        text = "%.*g" % (digits, stored)
        if _f32(float(text)) == stored:
            return float(text)
    return stored


def normalize_color(color: dict) -> dict:
    out = {}
    for name in ("red", "green", "blue"):
        v = color.get(name)
        if v:
            q = _channel(float(v))
            if q:
                out[name] = q
    if "alpha" in color and color["alpha"] is not None and color["alpha"] != 1:
        out["alpha"] = color["alpha"]
    return out


def normalize_color_style(style: dict | None) -> dict | None:
    if not style:
        return None
    if style.get("themeColor"):
        return {"themeColor": style["themeColor"]}
    if isinstance(style.get("rgbColor"), dict):
        return {"rgbColor": normalize_color(style["rgbColor"])}
    return None


def _mirror(obj: dict, color_key: str, style_key: str) -> None:
    """Keep ``color_key`` and ``style_key`` in step; the style wins when both are given."""
    style = normalize_color_style(obj.get(style_key))
    if style is None and isinstance(obj.get(color_key), dict):
        style = {"rgbColor": normalize_color(obj[color_key])}
    obj.pop(color_key, None)
    obj.pop(style_key, None)
    if style is None:
        return
    if "rgbColor" in style:
        obj[color_key] = copy.deepcopy(style["rgbColor"])
    obj[style_key] = style


_TWINS = (
    ((), "backgroundColor", "backgroundColorStyle"),
    (("textFormat",), "foregroundColor", "foregroundColorStyle"),
    ((), "tabColor", "tabColorStyle"),
)


def drop_stale_twins(obj: dict, touched: list[tuple[str, ...]]) -> None:
    """After a masked update set only one of a Color/ColorStyle pair, the other one is
    stale; drop it so normalisation rebuilds it from the one just written."""
    for prefix, color, style in _TWINS:
        hit_color = prefix + (color,) in touched
        hit_style = prefix + (style,) in touched
        if hit_color == hit_style:
            continue
        target = obj
        for name in prefix:
            target = target.get(name) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(style if hit_color else color, None)


def normalize_cell_format(fmt: dict) -> dict:
    fmt = copy.deepcopy(fmt)
    _mirror(fmt, "backgroundColor", "backgroundColorStyle")
    text = fmt.get("textFormat")
    if isinstance(text, dict):
        _mirror(text, "foregroundColor", "foregroundColorStyle")
    borders = fmt.get("borders")
    if isinstance(borders, dict):
        for side in borders.values():
            if isinstance(side, dict):
                _mirror(side, "color", "colorStyle")
    return fmt


def normalize_sheet_properties(props: dict) -> None:
    _mirror(props, "tabColor", "tabColorStyle")
    for flag in ("hidden", "rightToLeft"):
        if props.get(flag) is False:
            del props[flag]
    grid = props.get("gridProperties")
    if isinstance(grid, dict):
        for key in ("frozenRowCount", "frozenColumnCount"):
            if grid.get(key) == 0:
                del grid[key]
        for flag in ("hideGridlines", "rowGroupControlAfter", "columnGroupControlAfter"):
            if grid.get(flag) is False:
                del grid[flag]


def new_sheet_properties(given: dict, sheet_id: int, title: str, index: int, rows: int, columns: int) -> dict:
    """A new sheet's properties as Google fills them in, from `spreadsheets.create` or `addSheet`."""
    gp = given.get("gridProperties") or {}
    props = {
        "sheetId": sheet_id,
        "title": title,
        "index": index,
        "sheetType": given.get("sheetType", "GRID"),
        "gridProperties": {
            "rowCount": gp.get("rowCount", rows),
            "columnCount": gp.get("columnCount", columns),
            **{k: v for k, v in gp.items() if k not in ("rowCount", "columnCount")},
        },
    }
    for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
        if key in given:
            props[key] = given[key]
    normalize_sheet_properties(props)
    return props
