"""attrs validators for config values: finite numbers, bounds, ``[low, high]`` ranges, weight maps.

Each check raises :class:`FieldError` (a :class:`~spinlock_core.errors.ConfigError`) whose message
says the bad value and what is valid; the strict converter puts it at the field's dotted path,
so a user reads ``must be > 0, got -1 @ operator.dt``. Also here: the size bounds a run is held
to before anything is allocated (:func:`size_errors`) and free-form map keys (:func:`keys_in`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any, NewType

from ..errors import ConfigError

__all__ = [
    "FieldError",
    "ExtendedFloat",
    "finite",
    "at_least",
    "above",
    "at_most",
    "between",
    "span",
    "weights",
    "keys_in",
    "optional",
    "run_name",
    "MAX_SEED",
    "MAX_GRID",
    "MAX_SAMPLES",
    "MAX_DATASET_BYTES",
    "size_errors",
    "human_bytes",
]

#: A float field that may also be ``inf`` / ``-inf`` (never NaN); plain ``float`` fields must be finite.
ExtendedFloat = NewType("ExtendedFloat", float)

#: Seeds are packed as unsigned 64-bit integers (:func:`spinlock_core.seeding.sample_seed`).
MAX_SEED = 2**64 - 1
#: Largest grid side: one float32 channel of a 4096² state is 64 MiB.
MAX_GRID = 4096
#: Scrambled Sobol points (scipy's ``qmc.Sobol`` with 30 bits) stop at 2**30.
MAX_SAMPLES = 2**30
#: Stored trajectories above this estimate are refused: no single disk holds them.
MAX_DATASET_BYTES = 256 * 2**40


class FieldError(ConfigError):
    """A field's value is out of range: :attr:`field` is its name in its config class, :attr:`message`
    what is wrong (``str()`` gives both; the converter moves the field into the dotted path)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return repr(value)


def _number(attribute, value, what: str) -> None:
    if not _is_number(value) or math.isnan(value) or math.isinf(value):
        what = f" {what}" if what else ""
        raise FieldError(attribute.name, f"must be a finite number{what}, got {_show(value)}")


def finite(instance, attribute, value) -> None:
    """A finite number (no NaN, no ±inf)."""
    _number(attribute, value, "")


def at_least(bound):
    """A finite number ``>= bound``."""

    def check(instance, attribute, value):
        _number(attribute, value, f">= {bound}")
        if value < bound:
            raise FieldError(attribute.name, f"must be >= {bound}, got {_show(value)}")

    return check


def above(bound):
    """A finite number ``> bound``."""

    def check(instance, attribute, value):
        _number(attribute, value, f"> {bound}")
        if not value > bound:
            raise FieldError(attribute.name, f"must be > {bound}, got {_show(value)}")

    return check


def at_most(bound, why: str = ""):
    """A number ``<= bound`` (``why`` says where the bound comes from)."""

    def check(instance, attribute, value):
        if _is_number(value) and value > bound:
            because = f" ({why})" if why else ""
            raise FieldError(attribute.name, f"must be <= {bound}{because}, got {_show(value)}")

    return check


def between(low, high, *, open_low: bool = False, open_high: bool = False):
    """A finite number in ``[low, high]`` (``(`` / ``)`` where open)."""
    text = f"{'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"

    def check(instance, attribute, value):
        _number(attribute, value, f"in {text}")
        ok_low = value > low if open_low else value >= low
        ok_high = value < high if open_high else value <= high
        if not (ok_low and ok_high):
            raise FieldError(attribute.name, f"must lie in {text}, got {_show(value)}")

    return check


def span(minimum=None, *, strict: bool = False, maximum=None):
    """A ``[low, high]`` pair of finite numbers with ``low <= high`` and both ``>= minimum``
    (``> minimum`` with ``strict``) and ``<= maximum``."""
    bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum}"
    bound += "" if maximum is None else f" and <= {maximum}"

    def check(instance, attribute, value):
        want = f"a [low, high] pair of finite numbers{bound} with low <= high"
        if (
            not isinstance(value, (tuple, list))
            or len(value) != 2
            or not all(_is_number(x) and math.isfinite(x) for x in value)
        ):
            raise FieldError(attribute.name, f"must be {want}, got {_show(value)}")
        low, high = value
        if (
            low > high
            or (minimum is not None and (low <= minimum if strict else low < minimum))
            or (maximum is not None and high > maximum)
        ):
            raise FieldError(attribute.name, f"must be {want}, got {_show(value)}")

    return check


def _close(name: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def keys_in(valid: Iterable[str], what: str, name: str, keys: Iterable[str]) -> None:
    """Raise a :class:`FieldError` for ``name`` when ``keys`` has one not in ``valid``."""
    valid = list(valid)
    for key in keys:
        if key not in valid:
            raise FieldError(
                name, f"unknown {what} {key!r}{_close(str(key), valid)}; valid: {', '.join(map(str, valid))}"
            )


def weights(valid: Iterable[str] | None = None, what: str = "name", *, field: str | None = None):
    """A mapping name -> finite weight ``>= 0`` with a positive sum (names from ``valid`` if given)."""
    allowed = None if valid is None else tuple(valid)

    def check(instance, attribute, value):
        if value is None:
            return
        name = field or attribute.name
        check_weights(value, name, allowed, what)

    return check


def check_weights(value: Mapping[str, Any], name: str, valid=None, what: str = "name") -> None:
    """The body of :func:`weights`, for maps checked outside a validator."""
    if not isinstance(value, Mapping):
        raise FieldError(name, f"must be a mapping {what} -> weight, got {_show(value)}")
    if valid is not None:
        keys_in(valid, what, name, value)
    for key, w in value.items():
        if not _is_number(w) or not math.isfinite(w) or w < 0:
            raise FieldError(name, f"weight of {key!r} must be a finite number >= 0, got {_show(w)}")
    if value and not sum(value.values()) > 0:
        raise FieldError(name, f"weights must have a positive sum, got {dict(value)}")


def optional(check):
    """``check`` unless the value is ``None``."""

    def wrapped(instance, attribute, value):
        if value is not None:
            check(instance, attribute, value)

    return wrapped


def run_name(instance, attribute, value) -> None:
    """A run name stays inside the runs directory: one path component, no ``..``."""
    bad = (
        not value
        or value.strip() != value
        or any(sep in value for sep in ("/", "\\", "\0"))
        or ".." in value
        or value.startswith(".")
    )
    if bad:
        raise FieldError(
            attribute.name,
            f"must be one plain directory name (letters, digits, '_', '-', '.'; no path separators, no "
            f"'..', not starting with '.'), got {value!r}; to write elsewhere set run.dir",
        )


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def size_errors(generate, validate=None) -> list[str]:
    """Bounds on the sizes of a run, checked before anything is allocated (``message @ key`` lines).

    ``generate`` and ``validate`` are the structured ``generate`` / ``validate`` sections (or None).
    Byte estimates count one channel in float32 (or the stored dtype): a floor of the real size.
    """
    errors: list[str] = []
    if generate is not None:
        grid, steps = generate.grid, generate.steps
        states = steps // max(1, generate.trajectory_stride) + 1
        item = 2 if generate.trajectory_dtype == "float16" else 4
        stored = min(generate.stored_realizations or generate.realizations, generate.realizations)
        trajectory = states * grid * grid * item * stored
        if grid > MAX_GRID:
            errors.append(
                f"grid={grid} is above the bound {MAX_GRID} (one {grid}x{grid} float32 channel is "
                f"{human_bytes(grid * grid * 4)}, a batch of {generate.batch_size} trajectories at least "
                f"{human_bytes(trajectory * generate.batch_size)}); lower generate.grid @ generate.grid"
            )
        if generate.n_samples > MAX_SAMPLES:
            errors.append(
                f"n_samples={generate.n_samples} is above the bound {MAX_SAMPLES} (2**30, the most scrambled "
                f"Sobol points); lower generate.n_samples @ generate.n_samples"
            )
        total = trajectory * generate.n_samples
        if not errors and generate.store_trajectories and total > MAX_DATASET_BYTES:
            errors.append(
                f"the stored trajectories would take at least {human_bytes(total)} ({generate.n_samples} samples x "
                f"{stored} stored realizations x {states} states x {grid}x{grid} x {item} bytes), above "
                f"the bound {human_bytes(MAX_DATASET_BYTES)}; lower n_samples, steps or grid, or set "
                f"store_trajectories=false @ generate"
            )
    if validate is not None and validate.n_samples > MAX_SAMPLES:
        errors.append(
            f"n_samples={validate.n_samples} is above the bound {MAX_SAMPLES} (2**30, the most scrambled Sobol "
            f"points) @ validate.n_samples"
        )
    return errors
