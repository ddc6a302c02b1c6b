import warnings

import numpy as np
import pytest

from spinlock_core.errors import ConfigError
from spinlock_core.params import BooleanParam, CategoricalParam, ContinuousParam, IntegerParam, ParameterSpace
from spinlock_core.sampling import centered_l2_discrepancy, sample_space, sobol_unit

SPACE = ParameterSpace(
    [
        IntegerParam(name="layers", low=2, high=5),
        ContinuousParam(name="dt", low=1e-3, high=1e-1, log=True),
        ContinuousParam(name="alpha", low=0.3, high=0.9),
        CategoricalParam(name="policy", choices=("residual", "convex"), weights=(0.75, 0.25)),
        BooleanParam(name="flag", p_true=0.25),
    ]
)


def test_integer_decoding_gives_every_integer_equal_mass():
    values = IntegerParam(name="n", low=2, high=5).decode(np.linspace(0, 1, 4000, endpoint=False))
    assert np.array_equal(np.bincount(values)[2:], [1000] * 4)


def test_integer_decoding_handles_u_equal_one():
    assert IntegerParam(name="n", low=2, high=5).decode(np.array([1.0]))[0] == 5


def test_log_decoding_is_uniform_in_log():
    values = ContinuousParam(name="x", low=1e-5, high=1.0, log=True).decode(np.array([0.0, 0.5, 1.0]))
    assert np.allclose(np.log10(values), [-5, -2.5, 0])


def test_weighted_categorical_decoding():
    values = SPACE["policy"].decode(np.linspace(0, 1, 1000, endpoint=False))
    assert np.array_equal(np.bincount(values), [750, 250])


def test_boolean_decoding():
    values = SPACE["flag"].decode(np.linspace(0, 1, 1000, endpoint=False))
    assert values.sum() == 250


def test_encode_decode_round_trip_and_matrix_round_trip():
    unit, values = sample_space(SPACE, 64, seed=0)
    again = SPACE.decode(SPACE.encode(values))
    for name in SPACE.names:
        assert np.allclose(np.asarray(again[name], float), np.asarray(values[name], float))
    back = SPACE.from_matrix(SPACE.as_matrix(values))
    assert back["layers"].dtype == np.int64 and back["flag"].dtype == bool
    assert all(np.array_equal(back[n], values[n]) for n in SPACE.names)


def test_description_round_trip():
    assert ParameterSpace.from_description(SPACE.describe()) == SPACE


def test_sobol_is_seeded_and_scrambled():
    a, b, c = sobol_unit(3, 64, 0), sobol_unit(3, 64, 0), sobol_unit(3, 64, 1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.any(np.all(a == 0, axis=1))  # scrambled: the origin is not a point


def test_sobol_warns_when_n_is_not_a_power_of_two():
    with pytest.warns(UserWarning, match="not a power of two"):
        sobol_unit(2, 10, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sobol_unit(2, 16, 0)


def test_sobol_is_more_uniform_than_random():
    sobol = centered_l2_discrepancy(sobol_unit(4, 256, 0))
    rand = centered_l2_discrepancy(np.random.default_rng(0).random((256, 4)))
    assert sobol < rand / 3


@pytest.mark.parametrize(
    "make, message",
    [
        pytest.param(lambda: IntegerParam(name="n", low=5, high=2), "low 5 > high 2", id="int-range"),
        pytest.param(
            lambda: ContinuousParam(name="x", low=0.0, high=1.0, log=True), "log scale", id="log-zero"
        ),
        pytest.param(
            lambda: CategoricalParam(name="c", choices=("a", "b"), weights=(1.0,)), "1 weights", id="weights"
        ),
        pytest.param(
            lambda: ParameterSpace([BooleanParam(name="b"), BooleanParam(name="b")]), "duplicate", id="dup"
        ),
        pytest.param(lambda: SPACE["nope"], "valid: ", id="unknown-name"),
        pytest.param(lambda: SPACE["policy"].index("nope"), "valid: ", id="unknown-choice"),
    ],
)
def test_bad_parameter_specs(make, message):
    with pytest.raises(ConfigError, match=message):
        make()
