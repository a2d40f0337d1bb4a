"""Variable-length sequences: ``PackedSequence`` and the padding/packing helpers, as ``torch.nn.utils.rnn``.

A ``PackedSequence`` holds the time steps of a batch of sequences, sorted
longest first, as the rows of one ``data`` array: step ``t`` contributes
``batch_sizes[t]`` rows (the sequences still running at ``t``). The recurrent
layers take it as input and process each step with its own batch size, so no
work is spent on padding. Every helper here is differentiable with respect to
the data (packing and padding are row gathers and scatters whose gradients are
each other, so any order of derivative works).

Example:
    >>> seqs = [ember.randn(5, 8), ember.randn(3, 8)]
    >>> packed = pack_sequence(seqs)
    >>> out, h = nn.LSTM(8, 16)(packed)
    >>> padded, lengths = pad_packed_sequence(out)   # (5, 2, 16), tensor([5, 3])
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import dtypes as _dt
from ...autograd.function import Function
from ...errors import ShapeError
from ...tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pad_sequence",
    "unpad_sequence",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pack_sequence",
    "unpack_sequence",
]

_PackedSequenceBase = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_PackedSequenceBase):
    """Packed variable-length sequences: ``(data, batch_sizes, sorted_indices, unsorted_indices)``.

    data: ``(sum(lengths), *)``, the steps of all sequences, time-major;
    batch_sizes: int64 ``(T,)``, how many sequences run at each step;
    sorted_indices: int64 ``(B,)`` order in which the sequences were sorted
    (None if they came sorted), unsorted_indices its inverse. Build it with
    ``pack_padded_sequence`` or ``pack_sequence``, not by hand.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), as PyTorch allows
            data, batch_sizes = data
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = Tensor(np.asarray(batch_sizes, np.int64))
        sorted_indices = _as_index_tensor(sorted_indices)
        unsorted_indices = _as_index_tensor(unsorted_indices)
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(_dt.float64)

    def float(self) -> PackedSequence:
        return self.to(_dt.float32)

    def half(self) -> PackedSequence:
        return self.to(_dt.float16)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _as_index_tensor(x):
    if x is None or isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, np.int64))


def invert_permutation(permutation):
    """The inverse of an index permutation (``None`` stays ``None``)."""
    if permutation is None:
        return None
    p = np.asarray(permutation.data if isinstance(permutation, Tensor) else permutation)
    inv = np.empty_like(p, dtype=np.int64)
    inv[p] = np.arange(p.shape[0], dtype=np.int64)
    return Tensor(inv)


# --------------------------------------------------------------- row gather and scatter
class _GatherRows(Function):
    """``x.reshape(n, *f)[index]``: the rows of ``x`` (first ``lead`` axes flattened) at ``index``."""

    @staticmethod
    def forward(ctx, x, index, lead):
        d = x.data
        ctx.index, ctx.shape = index, d.shape
        rows = d.reshape((-1,) + d.shape[lead:])
        return np.take(rows, index, axis=0)

    @staticmethod
    def backward(ctx, g):
        return _ScatterRows.apply(g, ctx.index, ctx.shape, 0.0), None, None


class _ScatterRows(Function):
    """An array of ``shape`` filled with ``fill``, with ``data``'s rows put at flat row ``index``."""

    @staticmethod
    def forward(ctx, data, index, shape, fill):
        d = data.data
        ctx.index, ctx.lead = index, len(shape) - (d.ndim - 1)
        out = np.full((int(np.prod(shape[: ctx.lead])),) + d.shape[1:], fill, d.dtype)
        out[index] = d
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return _GatherRows.apply(g, ctx.index, ctx.lead), None, None, None


def _lengths_array(lengths, op: str) -> np.ndarray:
    if isinstance(lengths, Tensor):
        arr = lengths.data
    else:
        arr = np.asarray(
            [int(v.item()) if isinstance(v, Tensor) else v for v in lengths]
            if isinstance(lengths, (list, tuple))
            else lengths
        )
    if arr.ndim != 1:
        raise ShapeError(f"{op}: expected lengths to be a 1-D sequence of ints, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(arr == np.floor(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{op}: expected integer lengths, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _batch_sizes(sorted_lengths: np.ndarray) -> np.ndarray:
    """How many sequences (sorted longest first) are still running at each step."""
    T = int(sorted_lengths[0]) if sorted_lengths.size else 0
    return (sorted_lengths[None, :] > np.arange(T)[:, None]).sum(1).astype(np.int64)


# ------------------------------------------------------------------------ public API
def pad_sequence(
    sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"
) -> Tensor:
    """Stack tensors of shapes ``(L_i, *)`` into ``(L_max, B, *)`` (``(B, L_max, *)`` with batch_first), padded.

    ``padding_side='left'`` puts the padding before each sequence instead of after.
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if s.ndim < 1 or tuple(s.shape[1:]) != trailing:
            raise ShapeError(
                f"pad_sequence: every sequence must have shape (L, *{trailing}) like the first, "
                f"got {tuple(s.shape)} for sequence {i}"
            )
    lengths = np.asarray([s.shape[0] for s in sequences], np.int64)
    B, T = len(sequences), int(lengths.max())
    idx = []
    for i, n in enumerate(lengths):
        t = np.arange(n) + (T - n if padding_side == "left" else 0)
        idx.append(i * T + t if batch_first else t * B + i)
    index = np.concatenate(idx)
    shape = ((B, T) if batch_first else (T, B)) + trailing
    from ...ops.shape import cat

    data = cat(sequences, 0) if len(sequences) > 1 else sequences[0]
    return _ScatterRows.apply(data, index, shape, float(padding_value))


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Split a padded batch back into its ``B`` sequences ``(L_i, *)`` (right padding)."""
    lens = _lengths_array(lengths, "unpad_sequence")
    out = []
    for i, n in enumerate(lens):
        n = int(n)
        out.append(padded_sequences[i, :n] if batch_first else padded_sequences[:n, i])
    return out


def pack_padded_sequence(
    input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with batch_first) of sequences of the given lengths.

    With ``enforce_sorted`` the lengths must be in decreasing order; otherwise
    the sequences are sorted here and the permutation kept in the result.
    """
    lens = _lengths_array(lengths, "pack_padded_sequence")
    if input.ndim < 2:
        raise ShapeError(
            f"pack_padded_sequence: expected input with at least 2 dimensions, got shape {tuple(input.shape)}"
        )
    B = input.shape[0] if batch_first else input.shape[1]
    T = input.shape[1] if batch_first else input.shape[0]
    if lens.shape[0] != B:
        raise ShapeError(
            f"pack_padded_sequence: got {lens.shape[0]} lengths for a batch of {B} sequences "
            f"(input shape {tuple(input.shape)}, batch_first={batch_first})"
        )
    if lens.size and lens.min() <= 0:
        raise ValueError(
            "pack_padded_sequence: length of all samples has to be greater than 0, but found an element "
            f"in 'lengths' that is <= 0: {lens.tolist()}"
        )
    if lens.size and lens.max() > T:
        raise ShapeError(
            f"pack_padded_sequence: lengths {lens.tolist()} exceed the {T} time steps of input shape "
            f"{tuple(input.shape)} (batch_first={batch_first})"
        )
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise ValueError(
                f"pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                f"`enforce_sorted` is True, got {lens.tolist()}. You can pass `enforce_sorted=False` to "
                "pack_padded_sequence and/or pack_sequence to sidestep this requirement."
            )
        sorted_indices = None
        order = np.arange(B)
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = Tensor(order.astype(np.int64))
    sorted_lens = lens[order]
    batch_sizes = _batch_sizes(sorted_lens)
    steps = np.repeat(np.arange(batch_sizes.shape[0]), batch_sizes)
    seqs = order[np.arange(steps.shape[0]) - np.repeat(np.cumsum(batch_sizes) - batch_sizes, batch_sizes)]
    index = seqs * T + steps if batch_first else steps * B + seqs
    data = _GatherRows.apply(input, index, 2)
    return PackedSequence(data, Tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length: int | None = None
) -> tuple:
    """Undo ``pack_padded_sequence``: returns ``(padded, lengths)``, in the batch's original order.

    padded: ``(T, B, *)`` (``(B, T, *)`` with batch_first), ``T = total_length``
    if given (at least the longest length), else the longest length.
    """
    data, batch_sizes, sorted_indices, unsorted_indices = sequence
    bs = np.asarray(batch_sizes.data if isinstance(batch_sizes, Tensor) else batch_sizes, np.int64)
    B, T = int(bs[0]), int(bs.shape[0])
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                "pad_packed_sequence: expected total_length to be at least the length of the longest "
                f"sequence in input, but got total_length={total_length} and max sequence length being {T}"
            )
        T = int(total_length)
    lengths = (bs[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)  # in sorted order
    order = np.arange(B) if sorted_indices is None else np.asarray(sorted_indices.data, np.int64)
    steps = np.repeat(np.arange(bs.shape[0]), bs)
    seqs = order[np.arange(steps.shape[0]) - np.repeat(np.cumsum(bs) - bs, bs)]
    index = seqs * T + steps if batch_first else steps * B + seqs
    shape = ((B, T) if batch_first else (T, B)) + tuple(data.shape[1:])
    padded = _ScatterRows.apply(data, index, shape, float(padding_value))
    if unsorted_indices is not None:
        lengths = lengths[np.asarray(unsorted_indices.data, np.int64)]
    return padded, Tensor(lengths)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors ``(L_i, *)``; with ``enforce_sorted`` they must come longest first."""
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """Undo ``pack_sequence``: the list of tensors ``(L_i, *)`` in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
