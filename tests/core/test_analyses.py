"""Analyses: the Score arithmetic, option typing, and `spinlock compare-codebooks` on a double."""

import json
import math

import pytest

from spinlock_core.analyses import analysis_config
from spinlock_core.errors import ConfigError
from spinlock_core.interfaces import Score


def test_score_p_value_counts_draws_at_least_as_good_plus_one():
    s = Score(name="s", value=3.0, null_draws=[0, 1, 2, 3], alternative="greater")
    assert s.p_value == pytest.approx((1 + 1) / (1 + 4))
    assert s.null_mean == 1.5 and s.null_std == pytest.approx(math.sqrt(5 / 3))
    assert s.z == pytest.approx(1.5 / math.sqrt(5 / 3))


def test_score_lower_is_better_orients_z_and_p():
    s = Score(name="d", value=0.1, null_draws=[1.0, 2.0, 3.0], alternative="less")
    assert s.p_value == pytest.approx(1 / 4) and s.z > 0


def test_score_two_sided_doubles_the_smaller_tail():
    s = Score(name="e", value=10.0, null_draws=range(9), alternative="two-sided")
    assert s.p_value == pytest.approx(2 / 10)


def test_score_without_null_spread_has_infinite_z_and_json_null():
    s = Score(name="c", value=2.0, null_draws=[1.0, 1.0])
    assert math.isinf(s.z)
    d = s.to_dict()
    assert d["z"] is None and d["p_value"] == pytest.approx(1 / 3)
    json.dumps(d, allow_nan=False)


def test_analysis_options_are_typed_by_the_config_class():
    config = analysis_config("t_count", ["offset=2.5"], {"permutations": 5})
    assert config.offset == 2.5 and config.permutations == 5


@pytest.mark.parametrize(
    "options, message",
    [
        pytest.param(["ofset=1"], "unknown key 'ofset'; did you mean 'offset'?", id="typo"),
        pytest.param(["permutations=many"], "expected int", id="type"),
        pytest.param(["offset"], "expected key=value", id="malformed"),
    ],
)
def test_bad_analysis_options_name_the_key(options, message):
    with pytest.raises(ConfigError, match=message):
        analysis_config("t_count", options)


def _runs(tmp_path):
    for name in ("ra", "rb"):
        (tmp_path / name).mkdir()
    (tmp_path / "ra" / "a.txt").write_text("a")


def test_compare_codebooks_prints_every_score_beside_its_null(cli, tmp_path):
    _runs(tmp_path)
    result = cli("compare-codebooks", "ra", "rb", "-a", "t_count", "-n", "4", "--set", "offset=1")
    assert result.exit_code == 0, result.output
    assert "file difference" in result.output and "1.5 ± 1.3" in result.output
    assert (tmp_path / "ra" / "analyses" / "t_count-vs-rb" / "count.txt").is_file()


def test_compare_codebooks_json(cli, tmp_path):
    _runs(tmp_path)
    result = cli("compare-codebooks", "ra", "rb", "-a", "t_count", "-o", "out", "--json")
    scores = json.loads(result.output)["scores"]
    assert scores[0]["name"] == "file difference" and scores[0]["null_draws"] == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["-a", "nope"], "unknown analysis 'nope'", id="unknown-analysis"),
        pytest.param(["-a", "t_count", "--set", "bad=1"], "unknown key 'bad'", id="bad-option"),
        pytest.param(["-a", "t_count", "--seed", "1"], "unknown key(s) ['seed']", id="option-it-lacks"),
    ],
)
def test_compare_codebooks_usage_errors_exit_2(cli, tmp_path, args, message):
    _runs(tmp_path)
    result = cli("compare-codebooks", "ra", "rb", *args)
    assert result.exit_code == 2 and message in result.output


def test_compare_codebooks_missing_run_directory(cli, tmp_path):
    _runs(tmp_path)
    result = cli("compare-codebooks", "ra", "missing", "-a", "t_count")
    assert result.exit_code == 2 and "no run directory at missing" in result.output
