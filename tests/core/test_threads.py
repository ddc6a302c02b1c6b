"""CPU threads: the chooser's decision, the ``threads=`` key and its one console line."""

import pytest
import torch

from spinlock_core import threads
from spinlock_core.threads import SMALL_WORK, ThreadChoice, choose_threads

from ..conftest import TOY


@pytest.mark.parametrize(
    ("cores", "load", "work", "expected"),
    [
        pytest.param(2, 0.0, None, 2, id="idle-2-cores"),
        pytest.param(2, 1.9, None, 1, id="busy-2-cores"),
        pytest.param(2, 0.4, None, 2, id="light-load-rounds-down"),
        pytest.param(2, 0.6, None, 1, id="load-rounds-to-a-core"),
        pytest.param(8, 3.2, None, 5, id="half-busy-8-cores"),
        pytest.param(8, 20.0, None, 1, id="overloaded-keeps-one"),
        pytest.param(1, 0.0, None, 1, id="one-core"),
        pytest.param(16, 0.0, SMALL_WORK - 1, 1, id="small-work"),
        pytest.param(16, 0.0, SMALL_WORK, 16, id="large-work"),
        pytest.param(16, 4.0, 64 * 64 * 64, 12, id="large-work-busy"),
    ],
)
def test_choose_threads(cores, load, work, expected):
    assert choose_threads(cores, load, work) == expected


def test_choice_line():
    assert (
        ThreadChoice(1, 2, 1.94, "auto").line() == "threads: 1 (2 cores, load 1.9; set threads=N to override)"
    )
    assert ThreadChoice(4, 2, 0.0, "config").line() == "threads: 4 (threads=4; 2 cores, load 0.0)"
    assert "small work" in ThreadChoice(1, 8, 0.0, "auto", small_work=True).line()


def test_decide_uses_machine_and_work(monkeypatch):
    monkeypatch.setattr(threads, "machine", lambda: (4, 0.0))
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert threads.decide(None).threads == 4
    small = threads.decide(None, work=16 * 32 * 32)
    assert (small.threads, small.small_work) == (1, True)
    assert threads.decide(3).threads == 3
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert threads.decide(None).threads == 2


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_key_reaches_torch(cli, restore_threads):
    result = cli("run", *TOY, "stage=generate", "threads=3", "--dry-run")
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == 3
    assert "threads: 3 (threads=3;" in result.output
    result = cli("run", *TOY, "stage=generate", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.count("threads: ") == 1 and "set threads=N to override" in result.output


def test_threads_key_rejects_zero(cli):
    result = cli("run", *TOY, "threads=0", "--dry-run")
    assert result.exit_code == 2
    assert "threads" in result.output
