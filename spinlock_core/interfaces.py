"""The interfaces plugins implement. Small, typed, and free of heavy imports.

Entry points of every kind resolve to a light *spec* object (see :mod:`spinlock_core.specs`)
that names a config class and the implementation to import on use; the implementations
follow the abstract classes here.

Tensor layouts used throughout:

* initial conditions ``u0``: ``[B, C, H, W]``
* states during a rollout: ``[B, M, C, H, W]`` (``M`` realizations of each sample)
* stored trajectories: ``[B, M, T, C, H, W]`` (``T`` recorded states, the IC first)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs

from .params import ParameterSpace

if TYPE_CHECKING:
    import numpy as np
    import torch

__all__ = [
    "Grid",
    "DomainInfo",
    "Operator",
    "Stepper",
    "ICGenerator",
    "Domain",
    "ICSampler",
    "Column",
    "FeatureBatch",
    "FeatureFamily",
    "Loss",
    "LossContext",
    "LossSetup",
    "Score",
    "AnalysisResult",
    "Analysis",
    "Tokenizer",
    "CodebookLayout",
    "CodebookTokenizer",
    "Backbone",
    "Stage",
    "INTERFACES",
    "missing_members",
]


@attrs.frozen(kw_only=True)
class Grid:
    """A uniform 2-D grid of ``shape = (H, W)`` points over ``extent = ((y0, y1), (x0, x1))``.

    For periodic grids the points are ``y0 + i * dy`` with ``dy = (y1 - y0) / H``.
    """

    shape: tuple[int, int] = attrs.field(converter=tuple)
    extent: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 1.0), (0.0, 1.0))
    periodic: bool = True

    @property
    def lengths(self) -> tuple[float, float]:
        return (self.extent[0][1] - self.extent[0][0], self.extent[1][1] - self.extent[1][0])

    @property
    def spacing(self) -> tuple[float, float]:
        (ly, lx), (h, w) = self.lengths, self.shape
        return (ly / h, lx / w)

    def wavenumbers(self, device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Angular wavenumbers ``(ky [H, 1], kx [1, W//2+1])`` for ``rfft2`` layouts, in rad/unit."""
        import torch

        (ly, lx), (h, w) = self.lengths, self.shape
        ky = torch.fft.fftfreq(h, d=ly / h, device=device, dtype=dtype) * 2 * math.pi
        kx = torch.fft.rfftfreq(w, d=lx / w, device=device, dtype=dtype) * 2 * math.pi
        return ky.view(-1, 1), kx.view(1, -1)

    def coordinates(self, device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Point coordinates ``(y [H, 1], x [1, W])`` in domain units."""
        import torch

        (y0, _), (x0, _) = self.extent
        dy, dx = self.spacing
        h, w = self.shape
        y = y0 + dy * torch.arange(h, device=device, dtype=dtype)
        x = x0 + dx * torch.arange(w, device=device, dtype=dtype)
        return y.view(-1, 1), x.view(1, -1)


@attrs.frozen(kw_only=True)
class DomainInfo:
    """What a feature family, backbone or tokenizer may know about a domain."""

    name: str
    channels: tuple[str, ...] = attrs.field(converter=tuple)
    grid: Grid
    dt: float = 1.0  # physical time between stored states (before any stride)
    parameter_space: ParameterSpace | None = None
    operator: str = ""
    #: Names of the operator's derived θ columns (``Operator.derived_names``).
    derived: tuple[str, ...] = attrs.field(default=(), converter=tuple)


class Stepper(ABC):
    """A batch of built operators: advances ``u [B, M, C, H, W]`` by one step.

    Randomness must come from per-sample keys (see :mod:`spinlock_core.seeding`), never
    from global RNG state, so step ``t`` of sample ``b`` is the same in any batch.
    """

    @abstractmethod
    def step(self, u: torch.Tensor, t: int) -> torch.Tensor:
        """Return the state after step ``t`` (``t = 0`` maps the IC to the first new state)."""


class Operator(ABC):
    """A family of dynamical systems indexed by θ from :attr:`parameter_space`."""

    name: ClassVar[str]
    #: Whether realizations of one sample differ (noise); deterministic families use M = 1.
    stochastic: ClassVar[bool] = True
    #: Names of :meth:`derived_columns`, known before running (ARCHITECTURE declares them).
    derived_names: ClassVar[tuple[str, ...]] = ()

    @property
    @abstractmethod
    def parameter_space(self) -> ParameterSpace: ...

    @property
    @abstractmethod
    def channels(self) -> tuple[str, ...]: ...

    @abstractmethod
    def build(
        self,
        theta: Mapping[str, np.ndarray],
        sample_index: Sequence[int],
        seed: int,
        grid: Grid,
        device: torch.device,
        dtype: torch.dtype,
    ) -> Stepper:
        """Build the operators of a batch of samples (decoded θ, global sample indices)."""

    def derived_columns(self, theta: Mapping[str, np.ndarray], grid: Grid) -> dict[str, np.ndarray]:
        """Domain-specific derived θ features (e.g. parameter count); empty by default."""
        return {}

    def batch_order_key(self, theta: Mapping[str, np.ndarray]) -> np.ndarray:
        """A per-sample sort key: samples with equal keys batch well together (e.g. one
        architecture). The generate stage sorts each chunk by it before cutting batches."""
        import numpy as np

        return np.zeros(len(next(iter(theta.values()))), dtype=np.int64)


class ICGenerator(ABC):
    """One type of initial condition; draws with the sample's own generator."""

    name: ClassVar[str]

    @abstractmethod
    def sample(self, generator: torch.Generator, channels: int, grid: Grid, device, dtype) -> torch.Tensor:
        """One initial condition ``[C, H, W]``."""


class ICSampler(ABC):
    """Draws the initial conditions of a batch: the type per sample, then the field."""

    #: IC type names; ``sample`` returns indices into this tuple.
    names: tuple[str, ...]

    @abstractmethod
    def sample(
        self, seed: int, indices: Sequence[int], channels: int, grid: Grid, device, dtype, theta=None
    ) -> tuple[np.ndarray, torch.Tensor]:
        """``(type index [B], u0 [B, C, H, W])``, each sample from its own generator.

        ``theta`` (decoded values, numpy ``[B]`` per parameter) lets an IC depend on the
        operator's parameters (e.g. a perturbed steady state of Gray-Scott)."""


class Domain(ABC):
    """A physics domain: its grid and boundary conditions and its initial conditions."""

    name: ClassVar[str]
    #: Operator names this domain provides (``operator=`` must be one of them).
    operators: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def grid(self, size: int, operator: Operator) -> Grid:
        """The ``size x size`` grid the operator runs on."""

    @abstractmethod
    def initial_conditions(self, operator: Operator, weights: Mapping[str, float] | None = None) -> ICSampler:
        """The IC sampler for this operator; ``weights`` (IC type -> weight) overrides the defaults."""

    def ic_gallery(self, operator: Operator, path, *, size: int = 64, per_type: int = 4, seed: int = 0):
        """Write a PNG with examples of every IC type; optional."""
        raise NotImplementedError(f"domain {self.name!r} has no IC gallery")

    def time_per_state(self, operator: Operator) -> float:
        """Physical time between consecutive states (1 when the operator has no clock)."""
        return float(getattr(operator, "time_per_state", 1.0))


@attrs.frozen(kw_only=True)
class Column:
    """One declared feature column."""

    name: str
    unit: str = ""
    scope: Literal["sample", "timestep"] = "sample"
    #: How the per-realization values were combined into this column (e.g. "mean", "std").
    aggregate: str = "none"
    doc: str = ""


@attrs.frozen(kw_only=True)
class FeatureBatch:
    """Everything a family may read for a batch of ``B`` samples.

    ``trajectories`` is ``[B, M, T, C, H, W]`` (the IC is state 0) or ``None`` when only
    θ and ICs are known; ``time`` holds the physical time of each recorded state ``[T]``.

    ``shared`` is a per-batch cache the families of one run may use to compute a statistic
    once for all of them (the shipped SUMMARY and TEMPORAL share their per-state statistics
    there). The stages build one batch, with a fresh cache, per batch of samples and pass it to
    every family; a family that writes to it keys its entries by the computation and its
    options (a tuple starting with its own package name) and must not change its results by
    reading them. Optional: families may ignore it.
    """

    domain: DomainInfo
    theta: Mapping[str, Any]  # decoded values, numpy [B] per parameter
    u0: Any  # torch.Tensor [B, C, H, W]
    trajectories: Any = None
    time: Any = None
    derived: Mapping[str, Any] = attrs.Factory(dict)  # Operator.derived_columns
    shared: dict[Any, Any] = attrs.field(factory=dict, eq=False, repr=False)


class FeatureFamily(ABC):
    """A family of named features. Per-sample pure: no statistics across the batch."""

    name: ClassVar[str]
    #: "sample" -> ``extract`` returns ``[B, D]``; "timestep" -> ``[B, T', D]``.
    scope: ClassVar[str] = "sample"
    #: Whether ``extract`` needs trajectories (False: θ and ICs suffice).
    needs_trajectories: ClassVar[bool] = True

    @abstractmethod
    def columns(self, domain: DomainInfo) -> list[Column]:
        """The column manifest, declared from the domain description before running."""

    @abstractmethod
    def extract(self, batch: FeatureBatch) -> torch.Tensor:
        """Features of every sample, columns in the declared order; NaN where undefined."""


@attrs.frozen(kw_only=True)
class LossSetup:
    """What a loss may read once, when the ``mno`` stage builds it.

    ``tokenizer_path`` is the run's trained tokenizer checkpoint (``None`` when the run has
    none); ``normaliser`` holds the per-channel ``mean``/``std`` (numpy ``[C]``) the fields are
    normalised with, so a loss can return to physical units.
    """

    run_dir: Any  # pathlib.Path
    dataset: Any  # spinlock_core.storage.Dataset
    domain: DomainInfo
    model: Any  # the backbone (torch.nn.Module), unwrapped
    device: Any
    horizon: int
    normaliser: Mapping[str, Any]
    tokenizer_path: Any = None
    #: ``mno.latent_sample_steps``: states of each window the VQ losses compute their features
    #: from, evenly spaced (``None``: every state of the window).
    latent_sample_steps: int | None = None


@attrs.frozen(kw_only=True)
class LossContext:
    """One TBPTT window of one batch: where it sits in the horizon and what it is about.

    ``pred``/``target`` passed beside it are ``[B, w, C, H, W]`` normalised fields of steps
    ``window[0] + 1 .. window[1]`` (step ``t`` predicts state ``t + 1``).
    """

    window: tuple[int, int]
    horizon: int
    #: Steps that get a loss in this rollout (the horizon, or the last window for ``tbptt.mode=last``):
    #: a per-step loss divided by it sums over the windows to a mean over the supervised steps.
    supervised_steps: int
    u0: Any  # torch.Tensor [B, C, H, W], normalised
    theta: Mapping[str, Any]  # decoded θ, torch [B] per parameter
    samples: Any  # numpy [B] sample indices into the dataset
    realizations: Any  # numpy [B]
    training: bool = True
    #: State ``window[0]`` (the one the window's first prediction starts from; ``u0`` for the
    #: first window) as the model had it, and the true one; ``[B, C, H, W]`` normalised, no
    #: graph. ``None`` when not given: window-level features then start at ``pred[:, 0]``.
    state: Any = None
    target_state: Any = None


class Loss(ABC):
    """A training loss of the ``mno`` stage: ``forward(pred, target, ctx) -> (scalar, logs)``.

    Implementations are ``torch.nn.Module`` subclasses (so a loss with trainable parts, e.g. a
    latent projector, hands them to the optimizer through ``parameters()``, follows
    ``train()``/``eval()`` and is saved in checkpoints through ``state_dict()``). The stage
    multiplies the scalar by the configured weight ``mno.loss.<name>``; ``logs`` are floats
    averaged per epoch into the metrics. A loss that raises stops the run with its error.
    """

    name: ClassVar[str]

    @abstractmethod
    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, ctx: LossContext
    ) -> tuple[torch.Tensor, dict]:
        """The loss of one window (a 0-d tensor with a graph to ``pred``) and float logs."""


@attrs.frozen(kw_only=True)
class Score:
    """One number of an analysis beside what chance gives: its draws under a stated null.

    ``alternative`` says which side is better than chance ("greater", "less") or that both
    sides are of interest ("two-sided"). The p-value is the permutation p-value with the
    +1 correction, so it is never 0 and is valid for any number of draws; ``z`` is oriented
    so that positive means better than chance (for "two-sided": above the null mean).
    """

    name: str
    value: float
    null_draws: tuple[float, ...] = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    alternative: Literal["greater", "less", "two-sided"] = "greater"
    #: What the null is, in words (e.g. "shared columns permuted on B's side").
    null: str = ""
    unit: str = ""
    doc: str = ""

    @property
    def null_mean(self) -> float:
        return float(sum(self.null_draws) / len(self.null_draws)) if self.null_draws else math.nan

    @property
    def null_std(self) -> float:
        n = len(self.null_draws)
        if n < 2:
            return math.nan
        m = self.null_mean
        return math.sqrt(sum((x - m) ** 2 for x in self.null_draws) / (n - 1))

    @property
    def z(self) -> float:
        """Null standard deviations better than chance (``nan`` without a null spread)."""
        sign = -1.0 if self.alternative == "less" else 1.0
        diff, std = sign * (self.value - self.null_mean), self.null_std
        if not std > 0:
            return math.nan if diff == 0 or math.isnan(diff) else math.copysign(math.inf, diff)
        return diff / std

    @property
    def p_value(self) -> float:
        n = len(self.null_draws)
        if n == 0 or math.isnan(self.value):
            return math.nan
        ge = sum(x >= self.value for x in self.null_draws)
        le = sum(x <= self.value for x in self.null_draws)
        if self.alternative == "greater":
            return (1 + ge) / (1 + n)
        if self.alternative == "less":
            return (1 + le) / (1 + n)
        return min(1.0, 2 * (1 + min(ge, le)) / (1 + n))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (non-finite numbers as ``None``)."""

        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        return {
            "name": self.name,
            "value": num(self.value),
            "null_mean": num(self.null_mean),
            "null_std": num(self.null_std),
            "z": num(self.z),
            "p_value": num(self.p_value),
            "alternative": self.alternative,
            "null": self.null,
            "unit": self.unit,
            "doc": self.doc,
            "null_draws": [num(x) for x in self.null_draws],
        }


@attrs.frozen(kw_only=True)
class AnalysisResult:
    """What an analysis hands back: its scores (each beside its null), details, files written."""

    name: str
    scores: tuple[Score, ...] = attrs.field(converter=tuple)
    #: JSON-able details (shared columns, matchings, matrices...).
    summary: Mapping[str, Any] = attrs.Factory(dict)
    files: tuple[Any, ...] = attrs.field(default=(), converter=tuple)  # pathlib.Path
    #: One or two sentences a person reads first.
    headline: str = ""


class Analysis(ABC):
    """An analysis of finished run directories (``spinlock.analyses``), e.g. codebook alignment.

    Built as ``implementation(config)`` from its spec; ``run`` reads the runs' artefacts, writes
    its report (Markdown, JSON, figures) into ``out_dir`` and returns the scores.
    """

    name: ClassVar[str]
    #: How many run directories ``run`` takes (``compare-codebooks`` passes two).
    runs: ClassVar[int] = 2

    @abstractmethod
    def run(self, runs: Sequence[Any], out_dir: Any) -> AnalysisResult:
        """Analyse ``runs`` (run directories, ``pathlib.Path``) and write the report into ``out_dir``."""


class Tokenizer(ABC):
    """A tokenizer of feature tables (``spinlock.tokenizers``): rows of features -> discrete tokens.

    Why an interface: the ``tokenizer`` stage fits it, ``validate``, the VQ losses and the
    analyses load it back from ``tokenizer/model.pt`` (through
    :func:`spinlock_core.tokenizers.load_tokenizer`) and must not depend on one implementation.
    Built as ``implementation(config)`` from its spec. Tables are raw feature rows ``[N, D]``
    with their column names (``<family>/<column>``); the tokenizer picks, imputes and scales
    the columns it was fit on.
    """

    name: ClassVar[str]
    #: Plain values written by ``fit`` (``metrics["final"]``: the validation numbers shown).
    metrics: dict

    @abstractmethod
    def fit(self, table, columns, config=None, *, checkpoint=None, resume=False, stop_after=None):
        """Fit on ``table [N, D]``; checkpoint to ``checkpoint`` and resume from it; return ``self``."""

    @abstractmethod
    def scale(self, table, columns=None) -> torch.Tensor:
        """The preprocessed features ``[N, D']`` the model sees (what ``decode`` reconstructs)."""

    @abstractmethod
    def encode(self, table, columns=None) -> torch.Tensor:
        """Tokens ``[N, K]`` (long) of a raw feature table."""

    @abstractmethod
    def decode(self, tokens, levels: int | None = None) -> torch.Tensor:
        """Scaled features ``[N, D']`` from tokens."""

    @abstractmethod
    def reconstruct(self, table, columns=None, raw: bool = False) -> torch.Tensor:
        """``decode(encode(table))``: scaled features, or raw units when ``raw``."""

    @abstractmethod
    def save(self, path) -> Any:
        """Write a pickle-free checkpoint (:func:`spinlock_core.checkpoint.save_checkpoint`,
        metadata ``kind="tokenizer"``, ``name`` = the plugin name) to ``path``."""

    @classmethod
    @abstractmethod
    def load(cls, path, device: str | None = None) -> Tokenizer:
        """The tokenizer saved at ``path``, on ``device``."""


@attrs.frozen(kw_only=True)
class CodebookLayout:
    """How a codebook tokenizer lays out its tokens (:meth:`CodebookTokenizer.codebooks`).

    One codebook per ``(category, level)``: a category is a group of feature columns, its
    levels are successive (residual) codebooks. A token row of ``encode`` holds local code ids,
    category-major: the code of ``(category c, level l)`` is at :meth:`token_column`
    ``c * levels + l``.
    """

    categories: tuple[str, ...] = attrs.field(converter=tuple)
    #: ``[category][level]`` codes per codebook; every category has the same number of levels.
    sizes: tuple[tuple[int, ...], ...] = attrs.field(
        converter=lambda v: tuple(tuple(int(k) for k in r) for r in v)
    )
    #: Raw columns ``scale``/``encode`` read, in order (``<family>/<column>``).
    input_columns: tuple[str, ...] = attrs.field(converter=tuple)
    #: Scaled columns ``scale``/``decode`` give, in order.
    output_columns: tuple[str, ...] = attrs.field(converter=tuple)
    #: ``[category]`` the output columns each category reconstructs.
    category_columns: tuple[tuple[str, ...], ...] = attrs.field(converter=lambda v: tuple(map(tuple, v)))
    #: Raw value per input column that the scaling maps to its training centre without
    #: counting it missing: what a column absent from a table is set to.
    neutral: Mapping[str, float] = attrs.field(
        converter=lambda v: {str(k): float(x) for k, x in dict(v).items()}
    )

    def __attrs_post_init__(self) -> None:
        n = len(self.categories)
        if len(self.sizes) != n or len(self.category_columns) != n:
            raise ValueError(f"sizes and category_columns need one row per category ({n})")
        if len({len(r) for r in self.sizes}) > 1:
            raise ValueError(f"every category needs the same number of levels, got sizes {self.sizes}")

    @property
    def levels(self) -> int:
        return len(self.sizes[0]) if self.sizes else 0

    def token_column(self, category: int, level: int) -> int:
        """Position of codebook ``(category, level)`` in a token row."""
        return category * self.levels + level


class CodebookTokenizer(ABC):
    """Optional members of a :class:`Tokenizer` whose tokens are codes of codebooks.

    Why: analyses that compare what codes *mean* across runs (``compare-codebooks``) need the
    codebook layout and a feature-space prototype per code, which the plain interface does not
    give. A tokenizer provides them by implementing these three methods (subclassing is not
    needed: they are checked structurally with :func:`missing_members`); the analysis names
    any that are missing. ``encode`` must then return local code ids laid out as
    :class:`CodebookLayout` says.
    """

    @abstractmethod
    def codebooks(self) -> CodebookLayout:
        """The layout of the tokens: categories, codebook sizes, columns."""

    @abstractmethod
    def prototypes(self, level: int, usage: Sequence[Sequence[np.ndarray]]) -> torch.Tensor:
        """Scaled prototypes ``[codes of level, len(output_columns)]`` of every code of ``level``,
        category-major (category 0's codes first): the output a code stands for. ``usage`` is
        ``[category][level]`` code counts on a reference table, for tokenizers whose prototype
        of one level depends on the typical codes of the others (see ``categorical_vqvae``)."""

    @abstractmethod
    def unscale(self, scaled) -> np.ndarray:
        """Scaled output columns ``[N, len(output_columns)]`` back to raw units (float64 numpy)."""

    def column_weights(self, category: int) -> np.ndarray | None:
        """Optional: how strongly each of the category's columns (``category_columns``, in order)
        drives its codes, larger is stronger (used to name a category by its top columns);
        ``None`` (the default) when the tokenizer cannot say."""
        return None


@runtime_checkable
class Backbone(Protocol):
    """The factory a ``spinlock.backbones`` entry names: builds the MNO's network.

    Why a factory and not a class: the network's shape depends on the data (channels, history,
    the parameter space θ is conditioned on), known only when the ``mno`` and ``validate``
    stages run. The returned module steps a state: ``module(state [B, C * history, H, W],
    theta {name: Tensor [B]}, noise) -> next state [B, C, H, W]``; the returned config is an
    attrs instance saved in the checkpoint (a rebuilt model must give the same).

    Everything the backbone chooses itself (its size preset, widths...) is in ``options``, its
    own config section: the core passes only what the data decides.
    """

    def __call__(
        self,
        options: Any,
        *,
        channels: int,
        history: int,
        parameter_space: Any,
        device: Any,
    ) -> tuple[Any, Any]:
        """``(torch.nn.Module, its attrs config)`` for ``options`` (the ``backbone`` section, e.g.
        ``backbone.preset`` of ``u_afno``; ``None`` when the backbone declares no config class)."""


@runtime_checkable
class Stage(Protocol):
    """The function a ``spinlock.stages`` spec names: ``run(context)``.

    Why so small: what a stage reads and writes is declared on its
    :class:`~spinlock_core.specs.StageSpec` (``requires``, ``outputs``, ``config_keys``), so the
    runner can decide what is stale without calling it; the function only does the work.
    """

    def __call__(self, context: Any) -> None:
        """Make the stage's outputs in ``context.run_dir``; raise a ``SpinlockError`` on failure."""


#: The interface each entry-point kind's implementation satisfies (checked on import).
INTERFACES: dict[str, type] = {
    "domains": Domain,
    "operators": Operator,
    "features": FeatureFamily,
    "backbones": Backbone,
    "tokenizers": Tokenizer,
    "losses": Loss,
    "stages": Stage,
    "analyses": Analysis,
}

#: Keyword arguments the core passes to a :class:`Backbone` factory.
_BACKBONE_KEYWORDS = ("channels", "history", "parameter_space", "device")


def _unimplemented(member: Any) -> bool:
    # torch.nn.Module.forward is a placeholder that raises; abstract methods say so.
    return getattr(member, "__isabstractmethod__", False) or (
        getattr(member, "__name__", "") == "_forward_unimplemented"
    )


def _missing_parameters(fn: Any, positional: Sequence[str], keywords: Sequence[str]) -> list[str]:
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []  # builtins without a signature: trust them
    kinds = {p.kind for p in params}
    missing = []
    n_positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    if n_positional < len(positional) and inspect.Parameter.VAR_POSITIONAL not in kinds:
        missing += [f"positional argument {p}" for p in positional[n_positional:]]
    if inspect.Parameter.VAR_KEYWORD not in kinds:
        names = {p.name for p in params if p.kind != p.POSITIONAL_ONLY}
        missing += [f"parameter {k}" for k in keywords if k not in names]
    # a required keyword the core never passes (e.g. preset_name, which backbones now read from
    # their own options) would fail on every call
    missing += [
        f"a default for parameter {p.name} (not passed by the core)"
        for p in params
        if p.kind == p.KEYWORD_ONLY and p.default is p.empty and p.name not in keywords
    ]
    return missing


def missing_members(interface: type, implementation: Any) -> list[str]:
    """What ``implementation`` (a class, or a function for :class:`Backbone` and :class:`Stage`)
    lacks to satisfy ``interface``; empty when it satisfies it.

    Checked structurally (no subclassing needed): every abstract method of an ABC interface
    must be present and implemented; a callable interface must be callable with the arguments
    the core passes. An implementation that is a factory function of a class interface is
    checked on the object it returns (:meth:`ComponentSpec.create`).
    """
    if interface is Backbone or interface is Stage:
        if not callable(implementation):
            return ["__call__"]
        if interface is Backbone:
            return _missing_parameters(implementation, ("options",), _BACKBONE_KEYWORDS)
        return _missing_parameters(implementation, ("context",), ())
    owner = implementation if isinstance(implementation, type) else type(implementation)
    required = sorted(getattr(interface, "__abstractmethods__", ()))
    return [n for n in required if not hasattr(owner, n) or _unimplemented(getattr(owner, n))]
