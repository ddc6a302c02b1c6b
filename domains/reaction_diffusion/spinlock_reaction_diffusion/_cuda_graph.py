"""Replay one step of a stepper from a CUDA graph (``operator.cuda_graph``).

A batch's shapes are fixed for all its steps, so a step can be captured once and replayed:
one launch per step instead of thousands, which is what a batch of many small operator
groups needs (the eager step is launch-bound). The captured function must be capture-safe:
no host synchronisation and no host-to-device copy inside it, and the step counter read from
a device tensor (``t`` is a 0-d int64 tensor here; the counter RNGs of
:mod:`spinlock_core.seeding` accept it). Replaying runs the very kernels the capture
recorded, on the same inputs, so it gives what the eager step gives.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["CUDAGraphError", "GraphedStep"]


class CUDAGraphError(RuntimeError):
    """Capturing the step in a CUDA graph failed (``operator.cuda_graph=on``)."""


class GraphedStep:
    """``fn(u, t)`` captured on the first call and replayed after.

    The first call warms up (``warmup`` eager calls on a side stream: cuDNN handles, FFT
    plans, compiled kernels, lazily built constants), captures, and replays; its result and
    every later one come from the graph. Each call copies ``u`` into the static input, writes
    ``t`` into the device counter, replays and returns a copy of the static output.

    ``strict``: a capture failure raises :class:`CUDAGraphError`; otherwise it warns once and
    every call runs ``fn`` eagerly (same values, slower).
    """

    def __init__(self, fn: Callable, *, strict: bool, warmup: int = 2, name: str = "step"):
        self.fn, self.strict, self.warmup, self.name = fn, strict, warmup, name
        self.graph: torch.cuda.CUDAGraph | None = None
        self.error: BaseException | None = None

    def _eager(self, u: torch.Tensor, t: int) -> torch.Tensor:
        counter = torch.full((), t, dtype=torch.int64, device=u.device)
        return self.fn(u, counter)

    def _capture(self, u: torch.Tensor) -> None:
        self.u = u.clone()
        self.t = torch.zeros((), dtype=torch.int64, device=u.device)
        side = torch.cuda.Stream(device=u.device)
        side.wait_stream(torch.cuda.current_stream(u.device))
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                self.fn(self.u, self.t)
        torch.cuda.current_stream(u.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.out = self.fn(self.u, self.t)
        self.graph = graph

    def __call__(self, u: torch.Tensor, t: int) -> torch.Tensor:
        if self.graph is None:
            if self.error is not None:
                return self._eager(u, t)
            try:
                self._capture(u)
            except Exception as exc:  # capture is all-or-nothing: fall back or explain
                self.graph, self.error = None, exc
                if self.strict:
                    raise CUDAGraphError(
                        f"capturing the {self.name} in a CUDA graph failed ({type(exc).__name__}: "
                        f"{exc}); run with operator.cuda_graph=off (eager) or auto (falls back)"
                    ) from exc
                from spinlock_core.api import warn

                warn(
                    f"{self.name}: CUDA graph capture failed ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}); stepping eagerly"
                )
                return self._eager(u, t)
        if u.shape != self.u.shape or u.dtype != self.u.dtype or u.device != self.u.device:
            raise ValueError(
                f"{self.name}: CUDA graph captured for {list(self.u.shape)} {self.u.dtype}, "
                f"got {list(u.shape)} {u.dtype}; build a new stepper for a new shape"
            )
        self.u.copy_(u)
        self.t.fill_(t)
        self.graph.replay()
        return self.out.clone()
