"""The example feature-family package, installed like a third-party plugin (CI installs it)."""

import numpy as np

from spinlock_core.config import compose
from spinlock_core.runner import Runner
from spinlock_core.stages.features import read_table

from .conftest import TOY


def test_example_family_is_listed(cli):
    result = cli("plugins", "list", "--kind", "features", "--json")
    assert '"gradient_energy"' in result.output and "spinlock-example-features" in result.output


def test_example_family_columns_appear_in_a_features_table(tmp_path):
    overrides = [*TOY, "stage=features", "features=[toy_stats,gradient_energy]", "generate.n_samples=4"]
    overrides += ["generate.grid=16", "generate.steps=8", "feature.gradient_energy.final_fraction=0.5"]
    Runner(compose([*overrides, f"run.dir={tmp_path}"])).run()
    table, columns = read_table(tmp_path / "features" / "features.h5", "gradient_energy")
    assert [c["name"] for c in columns] == ["initial_energy", "final_energy", "log_growth"]
    assert table.shape == (4, 3) and np.isfinite(table[:, :2]).all() and (table[:, :2] > 0).all()
