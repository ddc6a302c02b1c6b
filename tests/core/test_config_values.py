"""Config values that make no sense are refused with exit 2, naming the key, the value and what is valid."""

import pytest

from spinlock_core.config import compose
from spinlock_core.config.checks import MAX_GRID, MAX_SAMPLES, MAX_SEED
from spinlock_core.errors import ConfigError

RD = ["domain=reaction_diffusion"]


@pytest.mark.parametrize(
    "override, messages",
    [
        pytest.param("mno.lr=inf", ["expected a finite number, got inf", "@ mno.lr"], id="lr-inf"),
        pytest.param("operator.dt=[nan,0.1]", ["finite number, got nan", "@ operator.dt[0]"], id="dt-nan"),
        pytest.param(
            "operator.dt=[-1,0.1]", ["[low, high]", "> 0", "[-1.0, 0.1]", "@ operator.dt"], id="dt-neg"
        ),
        pytest.param(
            "domain.ic_amplitude=[inf,inf]", ["finite number, got inf", "@ domain.ic_amplitude"], id="amp-inf"
        ),
        pytest.param("operator.num_layers=[0,0]", [">= 1", "[0, 0]", "@ operator.num_layers"], id="layers-0"),
        pytest.param(
            "operator.num_layers=[5,2]", ["low <= high", "[5, 2]", "@ operator.num_layers"], id="layers-order"
        ),
        pytest.param("mno.loss={traj: -1}", ["'traj'", ">= 0", "-1", "@ mno.loss"], id="loss-weight"),
        pytest.param("mno.loss={traj: 0}", ["positive sum", "@ mno.loss"], id="loss-all-zero"),
        pytest.param(
            "generate.ic_weights={grf: -1}", ["'grf'", ">= 0", "@ generate.ic_weights"], id="gen-ic-weight"
        ),
        pytest.param(
            "domain.ic_weights={cno: {grf: -1}}",
            ["'grf'", ">= 0", "@ domain.ic_weights.cno"],
            id="dom-ic-weight",
        ),
        pytest.param(
            "domain.ic_weights.cno.nosuch=1",
            ["unknown IC type 'nosuch'", "grf", "well_fourier", "@ domain.ic_weights.cno"],
            id="ic-weights-key",
        ),
        pytest.param(
            "domain.ic_weights.nosuch.grf=1",
            ["unknown operator 'nosuch'", "cno, gray_scott"],
            id="ic-weights-op",
        ),
        pytest.param(
            "domain.ic_options.grf.nosuch=1",
            ["unknown option(s) ['nosuch']", "@ domain.ic_options.grf"],
            id="ic-options",
        ),
        pytest.param(
            "backbone.overrides.nosuch=1",
            ["unknown backbone option 'nosuch'", "width", "@ backbone.overrides"],
            id="overrides-key",
        ),
        pytest.param(
            "backbone.overrides.width=0", [">= 1", "@ backbone.overrides.width"], id="overrides-value"
        ),
        pytest.param(
            "feature.nosuch.x=1",
            [
                "unknown feature family 'nosuch'",
                "installed feature families",
                "summary",
                "@ feature.nosuch.x",
            ],
            id="feature-family",
        ),
        pytest.param(
            "features=initial", ["expected a list like [a,b]", "'initial'", "@ features"], id="features-list"
        ),
        pytest.param(f"seed={MAX_SEED + 1}", [f"<= {MAX_SEED}", "64-bit", "@ seed"], id="seed-huge"),
        pytest.param(
            "generate.grid=200000",
            [f"bound {MAX_GRID}", "149.0 GiB", "@ generate.grid"],
            id="grid-huge",
        ),
        pytest.param(
            "generate.n_samples=1000000000000",
            [f"bound {MAX_SAMPLES}", "Sobol", "@ generate.n_samples"],
            id="n-huge",
        ),
        pytest.param(
            "generate.n_samples=1e12", ["expected int", "1000000000000", "@ generate.n_samples"], id="n-float"
        ),
        pytest.param(
            ("generate.n_samples=1048576", "generate.grid=4096"),
            ["at least", "TiB", "bound 256.0 TiB", "store_trajectories=false", "@ generate"],
            id="dataset-bytes",
        ),
        pytest.param(
            "run.name=../../../escape",
            ["'../../../escape'", "no path separators", "run.dir", "@ run.name"],
            id="run-name",
        ),
        pytest.param("run.name=a/b", ["'a/b'", "@ run.name"], id="run-name-sep"),
        pytest.param(
            "feature.summary.band_edges=[1,nan]", ["nan", "@ feature.summary.band_edges"], id="band-nan"
        ),
        pytest.param("loss.traj.gamma=nan", ["finite", "@ loss.traj.gamma"], id="loss-option-nan"),
    ],
)
def test_bad_value_exits_2_naming_key_value_and_fix(cli, override, messages):
    overrides = override if isinstance(override, tuple) else (override,)
    result = cli("config", "show", *RD, *overrides)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # undo the console's wrapping
    for message in messages:
        assert message in text, (message, result.output)


def test_validator_failures_are_config_errors_at_the_field_path():
    with pytest.raises(ConfigError, match=r"@ operator\.dt$"):
        compose([*RD, "operator.dt=[-1,0.1]"])


def test_band_edges_may_end_in_inf():
    config = compose([*RD, "feature.summary.band_edges=[0,1,inf]"])
    assert config.sections["feature.summary"].band_edges[-1] == float("inf")


@pytest.mark.parametrize(
    "text, messages",
    [
        pytest.param("", ["is empty"], id="empty"),
        pytest.param("domain: 5\n", ["domain must be a mapping with a name", "got 5"], id="domain-5"),
        pytest.param("- 1\n- 2\n", ["must hold a mapping", "list"], id="list"),
        pytest.param("seed: 1\n", ["no domain section"], id="no-domain"),
    ],
)
def test_run_from_a_bad_file_exits_2_naming_it(cli, tmp_path, text, messages):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = cli("run", "--from", str(path), "--dry-run")
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "bad.yaml" in text
    for message in messages:
        assert message in text, (message, result.output)


@pytest.mark.parametrize(
    "args, messages",
    [
        pytest.param(["--size", "0"], ["--size", "4"], id="size-0"),
        pytest.param(["--size", "100000"], ["--size", "4096"], id="size-huge"),
        pytest.param(["--per-type", "-1"], ["--per-type", "1"], id="per-type-neg"),
    ],
)
def test_ic_gallery_bad_sizes_exit_2(cli, tmp_path, args, messages):
    result = cli("visualize", "ic-gallery", *RD, *args, "--out", str(tmp_path / "g.png"))
    assert result.exit_code == 2, result.output
    for message in messages:
        assert message in result.output
    assert not (tmp_path / "g.png").exists()


def test_unknown_loss_message_says_loss(cli):
    result = cli("config", "show", *RD, "mno.loss={nosuch: 1}")
    assert result.exit_code == 2
    assert "unknown loss 'nosuch'" in result.output and "losse " not in result.output
