"""The ``generate`` stage: θ by scrambled Sobol -> ICs -> batched rollouts -> HDF5 dataset.

Resumable (see :mod:`spinlock_core.storage`), rank-sharded under ``torchrun``, and replayable:
every sample is a function of (global seed, sample index) and of the batch it was made in.
Work is cut into chunks aligned to multiples of ``chunk_size`` from each rank's first index;
each chunk is sorted by the operator's batch key and cut into batches, a function of the
chunk's θ alone, so a resumed run or a replay makes exactly the batches of an uninterrupted run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..console import info, warn
from ..distributed import barrier, init_distributed, rank, world_size
from ..errors import StageError
from ..storage import completed_indices as _completed
from ..storage import merge_parts, write_manifest
from .build import GenerationSetup, generate_chunk

__all__ = ["run", "rank_block", "chunks_for"]


def rank_block(n: int, r: int, world: int) -> range:
    """The contiguous block of sample indices rank ``r`` of ``world`` makes."""
    return range(r * n // world, (r + 1) * n // world)


def chunks_for(block: range, chunk_size: int, done: set[int]) -> list[range]:
    """Aligned chunks of ``block`` not yet made (a chunk is made whole or not at all)."""
    out = []
    for start in range(block.start, block.stop, chunk_size):
        chunk = range(start, min(start + chunk_size, block.stop))
        if not all(i in done for i in chunk):
            out.append(chunk)
    return out


def _check_progress_file(root: Path, fingerprint: str, force: bool) -> None:
    progress = root / "progress.json"
    if progress.is_file():
        old = json.loads(progress.read_text()).get("fingerprint")
        if old != fingerprint and not force:
            raise StageError(
                f"{root} holds an interrupted `generate` made with a different config; run the same "
                f"config to resume it, or pass run.force=true to discard it"
            )
        if old != fingerprint:
            import shutil

            shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    progress.write_text(json.dumps({"fingerprint": fingerprint}))


def run(context) -> None:
    from ..console import progress

    setup = GenerationSetup.from_context(context)
    cfg = setup.cfg
    root = context.path("dataset")
    r, world = rank(), world_size()
    init_distributed(setup.device)
    if r == 0:
        _check_progress_file(root, context.fingerprint, context.config.core.run.force)
    barrier()
    parts_dir = root / "parts" / f"rank{r}"
    block = rank_block(cfg.n_samples, r, world)
    todo = chunks_for(block, cfg.chunk_size, _completed(parts_dir))
    remaining = sum(len(b) for b in todo)
    if remaining < len(block):
        info(f"resuming: {len(block) - remaining} of {len(block)} samples already made")
    start = time.perf_counter()
    with progress(remaining, f"generate ({setup.operator_name})", unit="samples") as advance:
        for chunk in todo:
            generate_chunk(setup, np.arange(chunk.start, chunk.stop), parts_dir, advance)
    seconds = time.perf_counter() - start
    shard = root / f"shard-{r:03d}.h5"
    if any(parts_dir.glob("part-*.h5")):
        merge_parts(parts_dir, shard, setup.root_attrs())
    barrier()
    if r == 0:
        shards = [root / f"shard-{k:03d}.h5" for k in range(world)]
        missing = [s.name for s in shards if not s.is_file()]
        if missing:
            raise StageError(
                f"shards {missing} are missing in {root}; re-run the same command to finish them"
            )
        summary = setup.summary(shards)
        write_manifest(root, shards, cfg.n_samples, {"summary": summary})
        (root / "progress.json").unlink(missing_ok=True)
        made = sum(len(c) for c in todo)
        rate = f", {made / seconds:.2f} samples/s" if made and seconds > 0 else ""
        info(
            f"dataset: {cfg.n_samples} samples ({summary['status']['ok']} ok, "
            f"{summary['status']['diverged']} diverged, {summary['status']['failed']} failed){rate}"
        )
        if summary["status"]["diverged"]:
            warn(f"{summary['status']['diverged']} samples diverged; see `spinlock inspect {root}`")
