import json

import pytest
import torch

from spinlock_core.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from spinlock_core.errors import CheckpointError


def test_round_trip_with_weights_only(tmp_path):
    state = {"model": {"w": torch.randn(3, 3)}, "epoch": 4, "history": [0.5, 0.25], "name": None}
    save_checkpoint(tmp_path / "c.pt", state, {"kind": "test", "name": "x", "config": {"a": 1}}, notify=False)
    loaded, meta = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(loaded["model"]["w"], state["model"]["w"]) and loaded["history"] == [0.5, 0.25]
    assert meta["config"] == {"a": 1} and meta["schema"].startswith("1.")
    torch.load(tmp_path / "c.pt", weights_only=True)  # no pickled code needed
    assert read_metadata(tmp_path / "c.pt")["name"] == "x"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_major_schema_mismatch_is_refused(tmp_path):
    save_checkpoint(tmp_path / "c.pt", {}, {"kind": "test"}, notify=False)
    meta = json.loads((tmp_path / "c.json").read_text())
    (tmp_path / "c.json").write_text(json.dumps({**meta, "schema": "9.0"}))
    with pytest.raises(CheckpointError, match="schema 9.0 is incompatible"):
        read_metadata(tmp_path / "c.pt")


def test_garbage_file_is_a_clear_error(tmp_path):
    (tmp_path / "c.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable spinlock checkpoint"):
        load_checkpoint(tmp_path / "c.pt")


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "none.pt")
