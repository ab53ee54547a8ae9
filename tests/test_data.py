"""The real test files are in the repository and unchanged (their checksums)."""

from __future__ import annotations

import hashlib
import re

from tests.conftest import DATA


def _checksums(text: str) -> dict[str, str]:
    return {m.group(2): m.group(1) for m in re.finditer(r"^([0-9a-f]{64})\s+(\S+)$", text, re.M)}


def _sha256(path: object) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()  # type: ignore[attr-defined]


def test_every_listed_file_is_present_and_unchanged() -> None:
    listed = _checksums((DATA / "README.md").read_text())
    listed.update(
        {
            f"rntuple/{k}": v
            for k, v in _checksums((DATA / "rntuple" / "SHA256SUMS").read_text()).items()
        }
    )
    assert len(listed) >= 3 + 20
    for name, digest in listed.items():
        assert _sha256(DATA / name) == digest, name


def test_no_unlisted_root_file() -> None:
    listed = set(_checksums((DATA / "README.md").read_text()))
    listed |= {f"rntuple/{k}" for k in _checksums((DATA / "rntuple" / "SHA256SUMS").read_text())}
    present = {str(p.relative_to(DATA)) for p in DATA.rglob("*.root")}
    assert present == listed
