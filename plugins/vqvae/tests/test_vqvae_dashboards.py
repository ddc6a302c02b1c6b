"""The dashboards render from a fitted (and from a reloaded) tokenizer."""

from __future__ import annotations

import json

from spinlock_vqvae import CategoricalVQVAE, CategoricalVQVAEConfig, write_dashboards


def test_dashboards_render(planted, tmp_path):
    table, cols, _ = planted
    cfg = CategoricalVQVAEConfig(epochs=2, batch_size=64, hidden_dim=16, warmup_epochs=1)
    tok = CategoricalVQVAE().fit(table, cols, cfg)
    loaded = CategoricalVQVAE.load(tok.save(tmp_path / "tok.pt"))
    paths = write_dashboards(loaded, tmp_path / "dash")
    names = {p.name for p in paths}
    assert names == {
        "training_curves.png",
        "utilization.png",
        "reconstruction.png",
        "codebooks_pca.png",
        "feature_category.png",
        "category_sizes.png",
    }
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    captions = json.loads((tmp_path / "dash" / "captions.json").read_text())
    assert set(captions) == names and all(len(c) > 30 for c in captions.values())
