"""A fingerprint of a generated dataset: one SHA-1 per branch of every file, over the
branch's decoded values (offsets and content), so that a generator change can be checked
to leave the branches it does not mean to change bit for bit as they were."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

#: What the committed fingerprint was made from (tests/data/generated_fingerprint.json).
ARGUMENTS = {
    "events_per_sample": 300,
    "samples": ["ttbar", "wjets", "data"],
    "seed": 42,
    "chunksize": 150,
    "workers": 1,
}


def branch_digest(array: ak.Array) -> str:
    digest = hashlib.sha1()
    form, length, buffers = ak.to_buffers(ak.to_packed(array))
    digest.update(form.to_json().encode())
    digest.update(str(length).encode())
    for key in sorted(buffers):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(buffers[key]).tobytes())
    return digest.hexdigest()


def _digest_or_reason(branch: object) -> str:
    try:
        return branch_digest(branch.array(library="ak"))  # type: ignore[attr-defined]
    except Exception as error:  # noqa: BLE001  (uproot cannot read it: say so, stably)
        return f"unread: {type(error).__name__}"


def fingerprint(root: Path) -> dict[str, dict[str, str]]:
    """``{file name: {branch: sha1}}`` of every ROOT file under ``root``."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(root.rglob("*.root")):
        with uproot.open(path) as file:
            tree = file["CollectionTree"]
            out[path.name] = {
                name: _digest_or_reason(tree[name])
                for name in sorted(tree.keys(recursive=False))
                if "AuxDyn." in name  # the data; the interface branches hold none
            }
    return out


if __name__ == "__main__":  # python -m tests.datagen.fingerprint OUT.json: (re)make it
    import json
    import tempfile

    from afkit.datagen.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), **ARGUMENTS)  # type: ignore[arg-type]
        Path(sys.argv[1]).write_text(json.dumps(fingerprint(Path(tmp)), indent=1, sort_keys=True))
