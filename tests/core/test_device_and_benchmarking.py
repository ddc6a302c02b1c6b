import io
import json

import pytest
import torch

from spinlock_core.benchmarking import report
from spinlock_core.device import device_string, select_device
from spinlock_core.errors import ConfigError


def test_auto_and_cpu_devices():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert device_string("cpu").startswith("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_clear_error(spec):
    with pytest.raises(ConfigError, match="CUDA is not available here; use device=cpu or device=auto"):
        select_device(spec)


def test_bad_device_string():
    with pytest.raises(ConfigError, match="auto, cpu, cuda, cuda:N or mps"):
        select_device("tpu")


def test_benchmark_report_is_one_json_line_with_ratios():
    out = io.StringIO()
    report(
        "x", device="cpu", figures={"ops_per_s": 8.0, "note": "a"}, baseline={"ops_per_s": 0.5}, stream=out
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["ratios"] == {"ops_per_s": 16.0} and row["device"] == "cpu"
