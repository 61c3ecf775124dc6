"""Sphinx extension: tables of every chip model key, generated from ``models/*.toml``.

Directives
----------
``.. chip-model:: NAME``
    The model's opening comment, its references, and a table with one row per key
    of ``models/NAME.toml``: key, value, unit, meaning and source (the file's
    comments). A key that ``chip_keys.KEY_DOCS`` does not document is a build
    warning (an error under ``sphinx-build -W``), so the tables cannot go stale.

``.. chip-key-index::``
    One row per key pattern of ``chip_keys.KEY_DOCS``: unit and meaning.

Configuration: ``chip_models_dir``, the folder of the TOML files (relative to the
documentation's source folder).
"""

import os

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import chip_keys

logger = logging.getLogger(__name__)


def _table(headers, rows, widths):
    """A docutils table of plain-text or node cells."""
    table = nodes.table(classes=["chip-keys"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += _row(headers)
    body = nodes.tbody()
    group += body
    for cells in rows:
        body += _row(cells)
    return table


def _row(cells):
    row = nodes.row()
    if isinstance(cells, _Span):
        entry = nodes.entry(morecols=cells.columns - 1, classes=["chip-keys-table"])
        entry += nodes.paragraph("", "", nodes.strong("", "", nodes.literal(text=cells.text)))
        row += entry
        return row
    for cell in cells:
        entry = nodes.entry()
        if isinstance(cell, nodes.Node):
            entry += nodes.paragraph("", "", cell)
        else:
            entry += nodes.paragraph(text=str(cell))
        row += entry
    return row


class _Span:
    """A row with one cell over all columns: the ``[table]`` the next keys are in."""

    def __init__(self, text, columns):
        self.text, self.columns = text, columns


def _value_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return repr(value)


class _InlineMixin:
    """Meanings in ``chip_keys.KEY_DOCS`` are reStructuredText (``literal`` names)."""

    def _inline(self, text):
        parsed, messages = self.state.inline_text(text, self.lineno)
        span = nodes.inline()
        span.extend(parsed + messages)
        return span


class ChipModelDirective(_InlineMixin, SphinxDirective):
    """Every key of one chip model file, with its unit, meaning and source."""

    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        folder = os.path.join(self.env.srcdir, self.config.chip_models_dir)
        path = os.path.normpath(os.path.join(folder, f"{name}.toml"))
        self.env.note_dependency(path)
        try:
            chip = chip_keys.read_chip_file(path)
        except (OSError, chip_keys.UnknownKeyError) as error:
            logger.warning("chip-model %s: %s", name, error, location=self.get_location())
            return []
        result = [nodes.paragraph(text=chip.header)] if chip.header else []
        if chip.references:
            references = nodes.definition_list()
            for tag, text in chip.references.items():
                item = nodes.definition_list_item()
                item += nodes.term(text=f"[{tag}]")
                definition = nodes.definition()
                definition += nodes.paragraph(text=text)
                item += definition
                references += item
            result.append(references)
        rows, table = [], ""
        for row in chip.rows:
            if row.table != table:
                table = row.table
                rows.append(_Span(f"[{table}]", 5))
            key = row.path[len(table) + 1:] if table else row.path
            rows.append((nodes.literal(text=key), nodes.literal(text=_value_text(row.value)),
                         row.unit, self._inline(row.meaning),
                         row.source or "by definition (see the file's opening comment)"))
        result.append(_table(["key", "value", "unit", "meaning", "source (comment in the file)"],
                             rows, [16, 14, 8, 28, 34]))
        return result


class ChipKeyIndexDirective(_InlineMixin, SphinxDirective):
    """Unit and meaning of every key pattern a chip model may use."""

    def run(self):
        rows = [(nodes.literal(text=pattern), unit.format(unit="parameter's unit",
                                                          deviation="fraction or unit"),
                 self._inline(meaning))
                for pattern, (unit, meaning) in chip_keys.KEY_DOCS]
        return [_table(["key", "unit", "meaning"], rows, [35, 15, 50])]


def setup(app):
    app.add_config_value("chip_models_dir", "../models", "env")
    app.add_directive("chip-model", ChipModelDirective)
    app.add_directive("chip-key-index", ChipKeyIndexDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
