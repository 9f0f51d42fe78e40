"""The MNIST look-alike: torchvision reads it offline, it looks like MNIST, and its bytes never change."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torchvision.datasets import MNIST

from assignments.a10.dataset import MANIFEST, _frame, ensure_mnist
from assignments.a10.kernel import read_idx_images as read_rows

RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_mnist(tmp_path_factory.mktemp("mnist"))


def digests(root: Path) -> dict[str, str]:
    return {name: hashlib.sha256((root / "MNIST" / "raw" / name).read_bytes()).hexdigest() for name in RAW_FILES}


def test_torchvision_loads_it_without_downloading(data: Path) -> None:
    train = MNIST(root=data, train=True, download=False)
    test = MNIST(root=data, train=False, download=False)
    assert (len(train), len(test)) == (1500, 297)
    assert train.data.shape == (1500, 28, 28) and train.data.dtype == torch.uint8
    assert test.data.shape == (297, 28, 28)
    image, label = train[0]
    assert image.size == (28, 28) and label == 0


def test_labels_are_the_digits_own_in_order(data: Path) -> None:
    targets = load_digits().target
    train = MNIST(root=data, train=True, download=False)
    test = MNIST(root=data, train=False, download=False)
    # scikit-learn's digits start 0, 1, …, 9, 0, 1, …
    assert train.targets[:10].tolist() == list(range(10))
    assert train.targets.tolist() == targets[:1500].tolist()
    assert test.targets.tolist() == targets[-297:].tolist()
    assert set(test.targets.tolist()) == set(range(10))


def read_idx_images(path: Path) -> np.ndarray:
    """The grader's own reader (rows in [0, 1]) back to MNIST's uint8 images."""
    return np.rint(read_rows(str(path), 10**9) * 255).astype(np.uint8).reshape(-1, 28, 28)


def test_pixels_span_0_to_255_inside_a_4_pixel_black_border(data: Path) -> None:
    images = read_idx_images(data / "MNIST" / "raw" / "train-images-idx3-ubyte")
    assert images.dtype == np.uint8 and images.shape == (1500, 28, 28)
    assert images.min() == 0 and images.max() == 255
    inner = np.zeros((28, 28), dtype=bool)
    inner[4:24, 4:24] = True
    assert not images[:, ~inner].any()
    assert images[:, inner].any(axis=1).all(), "every image has some ink"


def test_the_graders_reader_agrees_with_torchvision(data: Path) -> None:
    ours = read_idx_images(data / "MNIST" / "raw" / "t10k-images-idx3-ubyte")
    assert np.array_equal(ours, MNIST(root=data, train=False, download=False).data.numpy())


def test_reader_rejects_a_label_file(data: Path) -> None:
    with pytest.raises(ValueError, match="not an IDX image file"):
        read_idx_images(data / "MNIST" / "raw" / "train-labels-idx1-ubyte")


def test_generation_is_byte_for_byte_deterministic(tmp_path: Path, data: Path) -> None:
    assert digests(ensure_mnist(tmp_path)) == digests(data)


def test_existing_good_files_are_left_alone_and_broken_ones_repaired(tmp_path: Path) -> None:
    raw = ensure_mnist(tmp_path) / "MNIST" / "raw"
    untouched = (raw / "train-labels-idx1-ubyte").stat().st_mtime_ns
    good = digests(tmp_path)
    truncated = raw / "train-images-idx3-ubyte"
    truncated.write_bytes(truncated.read_bytes()[:1000])
    (raw / "t10k-labels-idx1-ubyte").unlink()
    ensure_mnist(tmp_path)
    assert digests(tmp_path) == good
    assert (raw / "train-labels-idx1-ubyte").stat().st_mtime_ns == untouched
    assert sorted(path.name for path in raw.iterdir()) == sorted([*RAW_FILES, MANIFEST]), "no temporary files left behind"


def test_files_already_generated_are_checked_without_generating_them_again(tmp_path: Path) -> None:
    """A regrade must not pay scikit-learn's import to learn that the look-alike is still there."""
    ensure_mnist(tmp_path)
    script = (
        f"import sys; from assignments.a10.dataset import ensure_mnist; ensure_mnist({str(tmp_path)!r}); print('sklearn' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip() == "False"
    good = digests(tmp_path)
    edited = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    edited.write_bytes(edited.read_bytes()[:-1] + bytes([edited.read_bytes()[-1] ^ 0xFF]))
    ensure_mnist(tmp_path)
    assert digests(tmp_path) == good, "a file edited since it was generated is generated again"


def test_sizes_are_configurable_and_bounded(tmp_path: Path) -> None:
    ensure_mnist(tmp_path, train_size=100, test_size=20)
    assert len(MNIST(root=tmp_path, train=True, download=False)) == 100
    assert len(MNIST(root=tmp_path, train=False, download=False)) == 20
    with pytest.raises(ValueError, match="1797"):
        ensure_mnist(tmp_path / "too-many", train_size=1500, test_size=298)


def test_a_full_strength_digit_fills_the_20_by_20_box() -> None:
    framed = _frame(np.full((1, 8, 8), 16, dtype=np.int64))[0]
    assert (framed[4:24, 4:24] == 255).all()
    assert framed.sum() == 400 * 255


def test_upscaling_is_bilinear_with_half_pixel_centres() -> None:
    # One lit source pixel (row 0, column 1) at full strength. Output column j samples the
    # source at (4j − 3)/10: j = 1 → 0.1, weight 0.1 on column 1; j = 2 → 0.5, weight 0.5;
    # j = 3 → 0.9, weight 0.9. Output row 0 samples −0.3, clamped to row 0: weight 1.
    digit = np.zeros((1, 8, 8), dtype=np.int64)
    digit[0, 0, 1] = 16
    row = _frame(digit)[0, 4, 4:12]
    assert row.tolist() == [0, 26, 128, 230, 179, 77, 0, 0]  # 255·{0.1, 0.5, 0.9, 0.7, 0.3}, rounded half up


def test_upscaling_matches_torch_bilinear_to_within_rounding() -> None:
    digits = load_digits().images[:50]
    ours = _frame(digits.astype(np.int64))[:, 4:24, 4:24].astype(np.float64)
    torch_bilinear = F.interpolate(torch.from_numpy(digits)[:, None], size=(20, 20), mode="bilinear", align_corners=False)
    assert np.abs(ours - torch_bilinear[:, 0].numpy() * 255 / 16).max() <= 0.5 + 1e-9
