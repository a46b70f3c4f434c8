"""Devices as torch 2.13 names them, on a CPU-only library: tg.device, tg.cuda, tg.backends, and
every device= accepting the CPU and refusing CUDA with one error that says what to write."""

import numpy as np
import pytest

import tinygrad_seq as tg

torch = pytest.importorskip("torch")

CUDA_ERROR = r"tinygrad_seq runs on the CPU only.*torch\.device\(\"cuda\" if torch\.cuda"


@pytest.mark.parametrize(
    "args", [("cpu",), ("cpu:0",), ("cuda",), ("cuda:1",), ("cuda", 2), ("cpu", 0), ("mps",)]
)
def test_device_objects_as_torch(args):
    ours, theirs = tg.device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
    assert (ours == tg.device("cpu")) == (theirs == torch.device("cpu"))
    assert (ours == "cpu") == (theirs == "cpu")  # False: a device is not its string
    assert tg.device(ours) == ours and hash(ours) == hash(tg.device(*args))


@pytest.mark.parametrize("bad", ["gpu", "cpu:x", "cuda:-1", "CPU"])
def test_bad_device_strings_are_torchs_errors(bad):
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(RuntimeError):
        tg.device(bad)


def test_tensors_live_on_the_cpu():
    x, tx = tg.ones(2), torch.ones(2)
    assert x.device == tg.device("cpu") and str(x.device) == str(tx.device) == "cpu"
    assert x.is_cuda == tx.is_cuda and x.get_device() == tx.get_device() == -1
    cpu = tg.device("cpu")
    assert x.to(cpu) is x and x.cpu() is x and x.to("cpu:0") is x and x.to(device=cpu) is x
    assert x.to(cpu, tg.float64).dtype == np.float64
    assert x.to(tg.zeros(1, dtype=tg.float64)).dtype == np.float64  # another tensor's dtype
    assert x.to(cpu, non_blocking=True) is x


def test_every_factory_takes_device():
    cpu = tg.device("cpu")
    made = [
        tg.tensor([1.0], device=cpu),
        tg.zeros(2, device="cpu"),
        tg.ones(2, device=cpu),
        tg.empty(2, device=cpu),
        tg.full((2,), 1.0, device=cpu),
        tg.arange(3, device=cpu),
        tg.linspace(0, 1, 3, device=cpu),
        tg.eye(2, device=cpu),
        tg.zeros_like(tg.ones(2), device=cpu),
        tg.ones_like(tg.ones(2), device=cpu),
        tg.full_like(tg.ones(2), 3, device=cpu),
        tg.rand(2, device=cpu),
        tg.randn(2, device=cpu),
        tg.randint(0, 3, (2,), device=cpu),
        tg.randperm(3, device=cpu),
        tg.ones(1).new_zeros(2, device=cpu),
    ]
    assert all(t.device == cpu for t in made)


def test_the_idiomatic_device_line_runs_a_model_on_the_cpu():
    device = tg.device("cuda" if tg.cuda.is_available() else "cpu")
    model = tg.nn.Linear(3, 2).to(device)
    x = tg.randn(4, 3).to(device)
    assert model(x).device == device == tg.device("cpu")


@pytest.mark.parametrize(
    "use",
    [
        lambda: tg.ones(1).to("cuda"),
        lambda: tg.ones(1).to(tg.device("cuda:0")),
        lambda: tg.ones(1).to(device="cuda"),
        lambda: tg.ones(1).cuda(),
        lambda: tg.zeros(2, device="cuda"),
        lambda: tg.tensor([1.0], device=tg.device("cuda")),
        lambda: tg.randn(2, device="cuda"),
        lambda: tg.nn.Linear(2, 2).to("cuda"),
        lambda: tg.nn.Linear(2, 2).to(tg.device("cuda")),
        lambda: tg.ones(1).to("mps"),
    ],
)
def test_using_cuda_raises_one_clear_error(use):
    with pytest.raises(RuntimeError, match=CUDA_ERROR):
        use()


def test_cuda_and_backends_answer_as_torch_without_a_gpu():
    assert tg.cuda.is_available() is torch.cuda.is_available() is False
    assert tg.cuda.device_count() == torch.cuda.device_count() == 0
    assert tg.cuda.manual_seed(0) is None and tg.cuda.manual_seed_all(0) is None
    tg.cuda.empty_cache()
    assert tg.backends.mps.is_available() is False
    tg.backends.cudnn.deterministic = True
    tg.backends.cudnn.benchmark = False
