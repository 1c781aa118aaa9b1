"""docs/access.md shows the same role matrix the code enforces."""

from __future__ import annotations

from pathlib import Path

from loopwise.core.roles import MATRIX, Permission, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"


def test_access_doc_matrix_matches_code() -> None:
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 1 + len(Role) and cells[0].strip("`") in set(Permission):
            rows[cells[0].strip("`")] = cells[1:]
    assert set(rows) == {p.value for p in Permission}
    for permission in Permission:
        expected = ["✓" if permission in MATRIX[role] else "\u2013" for role in Role]  # en dash
        assert rows[permission.value] == expected, permission
