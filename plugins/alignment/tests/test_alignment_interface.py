"""The analysis reads a tokenizer only through its interface (issue #24, point 6): a minimal
tokenizer with no VQ-VAE inside (quantile bins of each family's mean, then of the residual)
that implements ``Tokenizer`` and the optional ``CodebookTokenizer`` members is compared end to
end; one that lacks members is refused with their names."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import domain_table
from test_alignment_report import _run_dir
from typer.testing import CliRunner

from spinlock_alignment import views
from spinlock_alignment.runs import Run
from spinlock_alignment.views import REQUIRED, CodebookView, load_view
from spinlock_core.api import (
    CodebookLayout,
    CodebookTokenizer,
    PluginError,
    Tokenizer,
    load_checkpoint,
    save_checkpoint,
)
from spinlock_core.cli import build_app

BINS = (4, 3)  # codes of level 0 and level 1 in every category


class BinTokenizer(Tokenizer, CodebookTokenizer):
    """Per family (a category): level 0 bins the mean of its z-scored columns by quantiles, level 1
    bins what is left of the first column. A code decodes to the mean scaled row of its bin."""

    name = "fake_bins"

    def __init__(self, config=None):
        self.metrics = {}
        self.state: dict = {}

    # -------------------------------------------------------------- Tokenizer
    def fit(self, table, columns, config=None, *, checkpoint=None, resume=False, stop_after=None):
        table = np.asarray(table, np.float64)
        families = list(dict.fromkeys(c.split("/", 1)[0] for c in columns))
        groups = [[j for j, c in enumerate(columns) if c.startswith(f + "/")] for f in families]
        centre, spread = np.nanmedian(table, 0), np.nanstd(table, 0) + 1e-9
        self.state = {"columns": list(columns), "families": families, "groups": groups}
        self.state |= {"centre": centre.tolist(), "spread": spread.tolist(), "edges": [], "protos": []}
        z = self.scale(table).numpy()
        for g in groups:
            lead = z[:, g].mean(1)
            e0 = np.quantile(lead, np.linspace(0, 1, BINS[0] + 1)[1:-1])
            rest = z[:, g[0]] - lead
            e1 = np.quantile(rest, np.linspace(0, 1, BINS[1] + 1)[1:-1])
            self.state["edges"].append([e0.tolist(), e1.tolist()])
        tokens = self.encode(table).numpy()
        for i, g in enumerate(groups):
            levels = []
            for lvl, k in enumerate(BINS):
                col = tokens[:, i * len(BINS) + lvl]
                levels.append(
                    [
                        z[col == c][:, g].mean(0).tolist() if (col == c).any() else [0.0] * len(g)
                        for c in range(k)
                    ]
                )
            self.state["protos"].append(levels)
        return self

    def scale(self, table, columns=None) -> torch.Tensor:
        table = np.asarray(table, np.float64)
        if columns is not None:
            pos = {c: j for j, c in enumerate(columns)}
            table = table[:, [pos[c] for c in self.state["columns"]]]
        z = (table - np.asarray(self.state["centre"])) / np.asarray(self.state["spread"])
        return torch.from_numpy(np.nan_to_num(z))

    def encode(self, table, columns=None) -> torch.Tensor:
        z = self.scale(table, columns).numpy()
        out = []
        for g, (e0, e1) in zip(self.state["groups"], self.state["edges"], strict=True):
            lead = z[:, g].mean(1)
            out += [np.digitize(lead, e0), np.digitize(z[:, g[0]] - lead, e1)]
        return torch.from_numpy(np.stack(out, 1).astype(np.int64))

    def decode(self, tokens, levels: int | None = None) -> torch.Tensor:
        tokens = np.asarray(tokens)
        out = np.zeros((len(tokens), len(self.state["columns"])))
        for i, g in enumerate(self.state["groups"]):
            coarse = np.asarray(self.state["protos"][i][0])[tokens[:, i * len(BINS)]]
            out[:, g] = coarse
        return torch.from_numpy(out)

    def reconstruct(self, table, columns=None, raw: bool = False) -> torch.Tensor:
        rec = self.decode(self.encode(table, columns))
        return torch.from_numpy(self.unscale(rec)) if raw else rec

    def save(self, path):
        meta = {"kind": "tokenizer", "name": self.name}
        return save_checkpoint(path, {"state": self.state}, meta, notify=False)

    @classmethod
    def load(cls, path, device=None):
        tok = cls()
        tok.state = load_checkpoint(path)[0]["state"]
        return tok

    # ------------------------------------------------------- CodebookTokenizer
    def codebooks(self) -> CodebookLayout:
        cols, groups = self.state["columns"], self.state["groups"]
        return CodebookLayout(
            categories=self.state["families"],
            sizes=[BINS] * len(groups),
            input_columns=cols,
            output_columns=cols,
            category_columns=[[cols[j] for j in g] for g in groups],
            neutral=dict(zip(cols, self.state["centre"], strict=True)),
        )

    def prototypes(self, level, usage) -> torch.Tensor:
        rows = []
        for i, g in enumerate(self.state["groups"]):
            block = np.zeros((BINS[level], len(self.state["columns"])))
            block[:, g] = self.state["protos"][i][level]
            rows.append(block)
        return torch.from_numpy(np.concatenate(rows))

    def unscale(self, scaled) -> np.ndarray:
        return np.asarray(scaled) * np.asarray(self.state["spread"]) + np.asarray(self.state["centre"])


def _fake_run(seed: int, label: str) -> Run:
    table, columns = domain_table(7, seed)
    tok = BinTokenizer().fit(table, columns)
    return Run(label, None, "synthetic", CodebookView(tok), np.asarray(table, np.float64), columns)


def test_a_view_is_built_from_the_interface_alone(tmp_path, monkeypatch):
    run = _fake_run(0, "A")
    run.view.tokenizer.save(tmp_path / "tokenizer" / "model.pt")
    monkeypatch.setattr(views, "load_tokenizer", lambda path, device: BinTokenizer.load(path))
    view = load_view(tmp_path)
    assert view.categories == ["summary", "architecture", "initial"] and view.levels == 2
    assert view.sizes == [list(BINS)] * 3 and view.column(1, 1) == 3
    tokens = view.encode(run.select(view.input_columns))
    assert tokens.shape == (len(run.table), 6)
    usage = view.usage(tokens)
    assert [u.sum() for u in usage[0]] == [len(run.table)] * 2
    protos = view.prototypes(usage, 0)
    assert protos.shape == (3 * BINS[0], len(view.output_columns))
    assert view.top_columns(0)[0][0] == view.category_columns(0)[0]  # no column weights: layout order


def test_compare_codebooks_runs_on_two_runs_of_a_fake_tokenizer(tmp_path, monkeypatch):
    monkeypatch.setattr(views, "load_tokenizer", lambda path, device: BinTokenizer.load(path))
    ra = _run_dir(tmp_path / "ra", _fake_run(0, "A"), "toy")
    rb = _run_dir(tmp_path / "rb", _fake_run(1, "B"), "toy")
    out = tmp_path / "cmp"
    args = ["compare-codebooks", str(ra), str(rb), "--out", str(out), "-n", "8", "--seed", "3"]
    for option in ("probe_samples=64", "rsa_samples=32", "profiles=2"):
        args += ["--set", option]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    assert "prototype distance L0" in result.output and "Verdict" in result.output
    assert (out / "report.md").is_file()


def test_a_tokenizer_without_the_codebook_members_is_refused_by_name():
    tok = type("Plain", (), {"name": "plain", "scale": BinTokenizer.scale, "encode": BinTokenizer.encode})()
    with pytest.raises(PluginError) as info:
        CodebookView(tok)
    message = str(info.value)
    assert "no adapter for Plain" in message and "missing: decode, codebooks, prototypes, unscale" in message
    assert all(m in message for m in REQUIRED)
