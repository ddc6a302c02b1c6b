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
from ..storage import PART_NAME, write_manifest
from ..storage import completed_indices as _completed
from .build import GenerationSetup, generate_chunk

__all__ = ["run", "rank_block", "chunks_for", "auto_chunk_size"]


def rank_block(n: int, r: int, world: int) -> range:
    """The contiguous block of sample indices rank ``r`` of ``world`` makes."""
    return range(r * n // world, (r + 1) * n // world)


def auto_chunk_size(samples: int, batch_size: int, chunks: int = 8, largest: int = 256) -> int:
    """The chunk size ``generate.chunk_size: null`` stands for, for a rank's ``samples``: about
    ``samples / chunks`` rounded up to a multiple of ``batch_size`` (at least one batch), at
    most ``largest`` (or one batch, when a batch is larger). A function of the config and the
    world size alone, so resume and replay (which reads each sample's chunk from the dataset)
    cut the same chunks; an explicit ``chunk_size`` is used as given."""
    per_chunk = -(-max(1, samples) // chunks)
    size = -(-per_chunk // batch_size) * batch_size
    return max(batch_size, min(size, largest - largest % batch_size))


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


def _check_disk(setup: GenerationSetup, root: Path, fingerprint: str) -> None:
    """Print what the samples still to make will take; refuse before writing if it cannot fit."""
    from ..disk import check_free_space, dataset_size

    n = setup.cfg.n_samples
    done = 0
    progress = root / "progress.json"
    if progress.is_file() and json.loads(progress.read_text()).get("fingerprint") == fingerprint:
        done = len(_completed_anywhere(root))
    info(check_free_space(root.parent, dataset_size(setup), n - done, n))


def _completed_anywhere(root: Path) -> set[int]:
    done: set[int] = set()
    for rank_dir in (root / "parts").glob("rank*"):
        done |= _completed(rank_dir)
    return done


def _dataset_parts(root: Path, n_samples: int) -> list[Path]:
    """Every rank's part files, by first index; StageError unless they hold 0..n-1 exactly once."""
    found = []
    for path in (root / "parts").glob("rank*/part-*.h5"):
        m = PART_NAME.match(path.name)
        found.append((int(m.group(1)), int(m.group(2)), path))
    found.sort()
    expected = 0
    for first, last, path in found:
        if first != expected:
            what = "missing" if first > expected else "held twice"
            raise StageError(
                f"samples {min(first, expected)}..{max(first, expected) - 1} are {what} in {root / 'parts'} "
                f"(at {path.name}); re-run the same command to finish the dataset"
            )
        expected = last + 1
    if expected != n_samples:
        raise StageError(
            f"samples {expected}..{n_samples - 1} are missing in {root / 'parts'}; re-run the same "
            f"command to finish them"
        )
    return [path for _, _, path in found]


def run(context) -> None:
    from ..console import progress

    setup = GenerationSetup.from_context(context)
    cfg = setup.cfg
    root = context.path("dataset")
    r, world = rank(), world_size()
    init_distributed(setup.device)
    # the families computed inline are not in the stage's fingerprint, but a resumed dataset
    # must hold them in every part: an interrupted run resumes only with the same ones
    key = f"{context.fingerprint}:{json.dumps(setup.feature_options(), sort_keys=True)}"
    if r == 0:
        _check_disk(setup, root, key)
        _check_progress_file(root, key, context.config.core.run.force)
    barrier()
    parts_dir = root / "parts" / f"rank{r}"
    block = rank_block(cfg.n_samples, r, world)
    chunk_size = cfg.chunk_size or auto_chunk_size(len(block), cfg.batch_size)
    todo = chunks_for(block, chunk_size, _completed(parts_dir))
    remaining = sum(len(b) for b in todo)
    if remaining < len(block):
        info(f"resuming: {len(block) - remaining} of {len(block)} samples already made")
    start = time.perf_counter()
    with progress(remaining, f"generate ({setup.operator_name})", unit="samples") as advance:
        for chunk in todo:
            generate_chunk(setup, np.arange(chunk.start, chunk.stop), parts_dir, advance)
    seconds = time.perf_counter() - start
    barrier()
    if r == 0:
        shards = _dataset_parts(root, cfg.n_samples)
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
