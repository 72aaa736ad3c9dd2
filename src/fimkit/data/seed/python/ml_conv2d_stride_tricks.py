"""2-D convolution (cross-correlation, as in deep-learning frameworks)
built on ``sliding_window_view`` so no Python loop touches the pixels."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv2d(
    images: np.ndarray,
    kernels: np.ndarray,
    stride: int = 1,
    padding: int = 0,
) -> np.ndarray:
    """Batched multi-channel 2-D convolution.

    Args:
        images:  (N, C_in, H, W)
        kernels: (C_out, C_in, kH, kW)
        stride:  step between neighbouring windows, same in both axes.
        padding: zero padding added on every spatial border.

    Returns:
        (N, C_out, H_out, W_out) with H_out = (H + 2p - kH) // stride + 1.
    """
    if images.shape[1] != kernels.shape[1]:
        raise ValueError("channel mismatch between images and kernels")
    if padding:
        images = np.pad(images, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = kernels.shape[-2:]
    # View of shape (N, C_in, H-kh+1, W-kw+1, kh, kw); no data is copied.
    windows = sliding_window_view(images, (kh, kw), axis=(2, 3))
    # Striding the view keeps it a view; only the einsum allocates output.
    windows = windows[:, :, ::stride, ::stride]
    return np.einsum("nchwij,ocij->nohw", windows, kernels, optimize=True)


def conv2d_reference(images: np.ndarray, kernels: np.ndarray, stride: int = 1) -> np.ndarray:
    """Slow, obviously-correct loop version used to test ``conv2d``."""
    n, _, h, w = images.shape
    c_out, _, kh, kw = kernels.shape
    ho, wo = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.zeros((n, c_out, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = images[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(patch, kernels, axes=([1, 2, 3], [1, 2, 3]))
    return out


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 9, 9))
    k = rng.normal(size=(4, 3, 3, 3))
    for s in (1, 2):
        fast, slow = conv2d(x, k, stride=s), conv2d_reference(x, k, stride=s)
        print(s, fast.shape, np.allclose(fast, slow))
    print(conv2d(x, k, padding=1).shape)  # "same" padding for a 3x3 kernel
