"""Issue #20, point 9: the feature -> category map names each category's strongest columns."""

from __future__ import annotations

import torch

from spinlock_vqvae import CategoricalVQVAE, CategoricalVQVAEConfig, dashboards


def test_feature_map_names_the_columns_that_drive_each_category(planted, tmp_path, monkeypatch):
    table, cols, _ = planted
    cfg = CategoricalVQVAEConfig(epochs=1, batch_size=64, hidden_dim=16, warmup_epochs=1)
    tok = CategoricalVQVAE().fit(table, cols, cfg)
    i, (category, members) = next((i, kv) for i, kv in enumerate(tok.category_map.items()) if len(kv[1]) >= 2)
    first = tok.model.encoders[i][0]
    with torch.no_grad():  # the category's last column drives its encoder most
        first.weight.copy_(torch.linspace(0.1, 1.0, first.weight.shape[1]).expand_as(first.weight))
    names = list(tok.preprocessor.output_columns)
    strongest = names[tok.model.group(i).tolist()[-1]]
    assert dashboards.top_features(tok)[category][0][0] == strongest

    drawn = []
    monkeypatch.setattr(dashboards.plt, "close", drawn.append)
    dashboards._feature_category(tok, tmp_path / "map.png")
    (fig,) = drawn
    panel = next(ax for ax in fig.axes if ax.get_title().startswith(category + " ("))
    labels = panel.get_yticklabels()
    assert labels[0].get_text() == strongest.split("/", 1)[-1]  # named, strongest first
    assert min(label.get_fontsize() for label in labels) >= 8  # readable
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
