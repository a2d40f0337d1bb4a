"""Convolution layers with PyTorch's arguments, weight layout and initialisation.

``padding_mode`` other than ``'zeros'`` pads with ``F.pad`` first and then
convolves without padding, as PyTorch does.
"""

from __future__ import annotations

import math

import numpy as np

from ... import dtypes as _dt
from ...errors import ShapeError
from ...ops import conv as _conv
from ...ops import shape as _shape
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


def _ntuple(x, n: int, name: str) -> tuple:
    if isinstance(x, (tuple, list)):
        if len(x) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {x!r}")
        return tuple(int(v) for v in x)
    return (int(x),) * n


class _ConvNd(Module):
    _dims = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        *,
        output_padding=0,
    ) -> None:
        super().__init__()
        n = self._dims
        name = type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {padding_mode!r}"
            )
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding_mode is supported, got {padding_mode!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.dilation = _ntuple(dilation, n, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid', an int or a tuple, got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions (stride {self.stride})"
                )
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding")
        self.output_padding = _ntuple(output_padding, n, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        d = (_dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)).np
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, d))
        if bias:
            self.bias = Parameter(np.empty(out_channels, d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _padding_for_mode(self) -> tuple:
        """F.pad's flat tuple (last dimension first) for a non-zero padding_mode."""
        if self.padding == "valid":
            return (0,) * (2 * self._dims)
        if self.padding == "same":
            pads = []
            for k, d in zip(reversed(self.kernel_size), reversed(self.dilation)):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return tuple(pads)
        out = []
        for p in reversed(self.padding):
            out += [p, p]
        return tuple(out)

    def _check_input(self, input) -> None:
        n = self._dims
        if input.ndim not in (n + 1, n + 2):
            raise ShapeError(
                f"{type(self).__name__}: expected a {n + 1}-d (unbatched) or {n + 2}-d (batched) input, got shape {tuple(input.shape)}"
            )

    def forward(self, input):
        self._check_input(input)
        fn = getattr(_conv, f"conv{self._dims}d")
        if self.padding_mode != "zeros":
            input = _shape.pad(input, self._padding_for_mode(), mode=self.padding_mode)
            return fn(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self._transposed and self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-d convolution. Shape: ``(N, C_in, L)`` -> ``(N, C_out, L_out)``."""

    _dims = 1


class Conv2d(_ConvNd):
    """2-d convolution. Shape: ``(N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)``.

    Example:
        >>> conv = nn.Conv2d(1, 32, 3, padding=1)
        >>> conv(ember.randn(64, 1, 28, 28)).shape
        (64, 32, 28, 28)
    """

    _dims = 2


class Conv3d(_ConvNd):
    """3-d convolution. Shape: ``(N, C_in, D, H, W)`` -> ``(N, C_out, D_out, H_out, W_out)``."""

    _dims = 3


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            output_padding=output_padding,
        )

    def _output_padding(self, input, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        n = self._dims
        output_size = tuple(output_size)[-n:]
        spatial = input.shape[-n:]
        out = []
        for i in range(n):
            base = (
                (spatial[i] - 1) * self.stride[i]
                - 2 * self.padding[i]
                + self.dilation[i] * (self.kernel_size[i] - 1)
                + 1
            )
            extra = output_size[i] - base
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ShapeError(
                    f"{type(self).__name__}: requested output size {output_size} is not reachable from input "
                    f"{tuple(input.shape)}: sizes between {base} and {base + max(self.stride[i], self.dilation[i]) - 1} are possible in dimension {i}"
                )
            out.append(extra)
        return tuple(out)

    def forward(self, input, output_size=None):
        self._check_input(input)
        fn = getattr(_conv, f"conv_transpose{self._dims}d")
        return fn(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-d convolution (the gradient of conv1d). Weight ``(C_in, C_out/groups, K)``."""

    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-d convolution (the gradient of conv2d). Weight ``(C_in, C_out/groups, KH, KW)``."""

    _dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-d convolution. Weight ``(C_in, C_out/groups, KD, KH, KW)``."""

    _dims = 3
