"""Plain-text tables for the command line."""


def table(rows, header=True):
    """Rows of cells as left-aligned columns separated by two spaces; a rule of
    dashes under the first row when `header`."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if header:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
