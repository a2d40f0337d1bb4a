"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

Worker processes get index lists from the main process and send collated
batches back; the main process puts them back in order, so ``num_workers > 0``
gives the same batches in the same order as ``num_workers=0``.
"""

from __future__ import annotations

import collections.abc
import multiprocessing as mp
import queue
import traceback

import numpy as np

from .. import random as _random
from ..errors import ShapeError
from ..tensor import Tensor
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo"]


# ----------------------------------------------------------------------- collate
def default_collate(batch):
    """Stack a list of samples into a batch: tensors, arrays and numbers become tensors; tuples,
    lists and dicts are collated field by field; strings stay lists."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor(_stack([b.data for b in batch], "tensors"))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OSU":
            raise TypeError(f"default_collate: arrays of dtype {elem.dtype} cannot be batched")
        return Tensor(_stack(batch, "arrays"))
    if isinstance(elem, (bool, np.bool_)):
        return Tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, (int, np.integer)):
        return Tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, (float, np.floating)):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)) or elem is None:
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise ShapeError(
                f"default_collate: each element in the batch should be of equal size, got sizes {sorted({len(b) for b in batch})}"
            )
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError(
        f"default_collate: batch must contain tensors, arrays, numbers, dicts or lists; found {type(elem).__name__}"
    )


def _stack(arrays, what: str) -> np.ndarray:
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise ShapeError(
                f"default_collate: stack expects each of the {what} to be equal size, but sample 0 has shape {tuple(shape)} and sample {i} has shape {tuple(a.shape)}"
            )
    return np.stack(arrays)


def default_convert(data):
    """Like ``default_collate`` for one sample (``batch_size=None``): arrays become tensors."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSU":
        return Tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(d) for d in data]
    return data


# ----------------------------------------------------------------------- workers
class WorkerInfo:
    """What ``get_worker_info()`` tells code running inside a worker process."""

    def __init__(self, id: int, num_workers: int, seed: int, dataset) -> None:
        self.id = id
        self.num_workers = num_workers
        self.seed = seed
        self.dataset = dataset

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


_worker_info = None


def get_worker_info() -> WorkerInfo | None:
    """Inside a DataLoader worker: its id, the number of workers, its seed and dataset copy; else None."""
    return _worker_info


class _WorkerError:
    def __init__(self, worker_id: int, where: str) -> None:
        self.worker_id = worker_id
        self.text = traceback.format_exc()
        self.where = where


def _worker_loop(dataset, index_queue, result_queue, fetch, worker_id, num_workers, seed, init_fn) -> None:
    global _worker_info
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    _random.manual_seed(seed)
    np.random.seed(seed % 2**32)
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception:
        result_queue.put((worker_id, -1, _WorkerError(worker_id, "worker_init_fn")))
        return
    iterator = None
    while True:
        task = index_queue.get()
        if task is None:
            return
        seq, indices = task
        try:
            if isinstance(dataset, IterableDataset):
                if iterator is None:
                    iterator = fetch(None)
                result = next(iterator, _END)
            else:
                result = fetch(indices)
        except Exception:
            result = _WorkerError(worker_id, f"batch {seq}")
        result_queue.put((worker_id, seq, result))


class _End:
    pass


_END = _End()


# -------------------------------------------------------------------- DataLoader
class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style ``Dataset`` (``__getitem__``, ``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch (``None``: yield samples one by one, unbatched).
        shuffle: a new random order each epoch, drawn from ember's generator (or ``generator``).
        sampler / batch_sampler: a custom order (exclusive with ``shuffle``) / custom batches.
        num_workers: worker processes loading batches in parallel (same batches, same order).
        collate_fn: how a list of samples becomes a batch (``default_collate``).
        drop_last: drop the last, smaller batch.

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
    ) -> None:
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be non-negative, got {num_workers}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout must be non-negative, got {timeout}")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.pin_memory = pin_memory
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError(
                    "DataLoader: shuffle must not be set for an IterableDataset (it defines its own order)"
                )
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader: sampler and batch_sampler are not allowed with an IterableDataset")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._resume = None
        self._last_iter = None

    def __len__(self) -> int:
        if self._iterable:
            raise TypeError("DataLoader over an IterableDataset has no length")
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # ----------------------------------------------------------------- fetching
    def _fetch(self, indices):
        """Load one batch (map-style) or, with ``indices=None``, a batch iterator (iterable)."""
        if self._iterable:
            return self._iterable_batches()
        ds = self.dataset
        if not self._auto_collation:
            return self.collate_fn(ds[indices])
        if self.collate_fn is default_collate and hasattr(ds, "_batch"):
            batch = ds._batch(indices)
            if batch is not None:
                return batch
        return self.collate_fn([ds[i] for i in indices])

    def _iterable_batches(self):
        it = iter(self.dataset)
        if self.batch_size is None:
            for sample in it:
                yield self.collate_fn(sample)
            return
        while True:
            batch = []
            for sample in it:
                batch.append(sample)
                if len(batch) == self.batch_size:
                    break
            if not batch or (len(batch) < self.batch_size and self.drop_last):
                return
            yield self.collate_fn(batch)
            if len(batch) < self.batch_size:
                return

    def _index_source(self):
        if self.batch_sampler is not None:
            return self.batch_sampler
        return self.sampler

    def _order_sampler(self):
        s = (
            self.batch_sampler.sampler
            if self.batch_sampler is not None and hasattr(self.batch_sampler, "sampler")
            else self.sampler
        )
        return s if hasattr(s, "_pass_rng") else None

    def __iter__(self):
        base_seed = int(_random.numpy_generator(self.generator).integers(0, 2**62))
        skip = 0
        if self._resume is not None:
            state, self._resume = self._resume, None
            skip = state.get("batches_yielded", 0)
            order = self._order_sampler()
            if order is not None and state.get("sampler_seed") is not None:
                order._replay_seed = state["sampler_seed"]
        if self.num_workers == 0:
            it = _SingleProcessIter(self, skip)
        else:
            it = _MultiProcessIter(self, base_seed, skip)
        self._last_iter = it
        return it

    # ------------------------------------------------------------- exact resume
    def state_dict(self) -> dict:
        """Where the current pass is: the order's seed and the batches already yielded."""
        it = self._last_iter
        order = self._order_sampler()
        return {
            "sampler_seed": getattr(order, "last_seed", None) if order is not None else None,
            "batches_yielded": 0 if it is None else it.yielded,
        }

    def load_state_dict(self, state: dict) -> None:
        """Make the next ``iter()`` replay the saved pass from the saved position."""
        if not isinstance(state, dict) or "batches_yielded" not in state:
            raise ValueError(f"DataLoader.load_state_dict: expected a dict from state_dict(), got {state!r:.200}")
        self._resume = dict(state)


class _SingleProcessIter:
    def __init__(self, loader: DataLoader, skip: int) -> None:
        self.loader = loader
        self.yielded = 0
        if loader._iterable:
            self._source = loader._fetch(None)
            self._indices = None
        else:
            self._indices = iter(loader._index_source())
        for _ in range(skip):
            if self._indices is not None:
                next(self._indices)
            else:
                next(self._source)
            self.yielded += 1

    def __iter__(self):
        return self

    def __next__(self):
        if self._indices is None:
            batch = next(self._source)
        else:
            batch = self.loader._fetch(next(self._indices))
        self.yielded += 1
        return batch

    def __len__(self) -> int:
        return len(self.loader)


class _MultiProcessIter:
    """Round-robin tasks to workers with their own index queues; results reordered by sequence number."""

    def __init__(self, loader: DataLoader, base_seed: int, skip: int) -> None:
        self.loader = loader
        self.yielded = 0
        n = loader.num_workers
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        elif isinstance(ctx, str):
            ctx = mp.get_context(ctx)
        self._result_queue = ctx.Queue()
        self._index_queues = []
        self._workers = []
        for w in range(n):
            iq = ctx.Queue()
            p = ctx.Process(
                target=_worker_loop,
                args=(
                    loader.dataset,
                    iq,
                    self._result_queue,
                    loader._fetch,
                    w,
                    n,
                    base_seed + w,
                    loader.worker_init_fn,
                ),
                daemon=True,
            )
            p.start()
            self._index_queues.append(iq)
            self._workers.append(p)
        self._iterable = loader._iterable
        self._indices = None if self._iterable else iter(loader._index_source())
        self._next_seq = 0  # next task to hand out
        self._want = 0  # next result to yield
        self._buffer = {}
        self._done_workers = set()
        self._exhausted = False
        self._closed = False
        for _ in range(skip):
            if self._indices is not None:
                next(self._indices)
            self.yielded += 1
        if self._iterable:
            self._skip_results = skip
        for _ in range(loader.prefetch_factor * n):
            self._dispatch()
        if self._iterable:
            for _ in range(skip):
                self._next_batch()

    def _worker_for(self, seq: int) -> int:
        return seq % len(self._workers)

    def _dispatch(self) -> None:
        if self._exhausted:
            return
        if self._iterable:
            w = self._worker_for(self._next_seq)
            self._index_queues[w].put((self._next_seq, None))
        else:
            try:
                indices = next(self._indices)
            except StopIteration:
                self._exhausted = True
                return
            self._index_queues[self._worker_for(self._next_seq)].put((self._next_seq, indices))
        self._next_seq += 1

    def __iter__(self):
        return self

    def _get(self):
        timeout = self.loader.timeout or None
        while True:
            try:
                return self._result_queue.get(timeout=timeout if timeout else 5.0)
            except queue.Empty:
                if timeout:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for a batch") from None
                dead = [w for w, p in enumerate(self._workers) if not p.is_alive()]
                if dead:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader worker(s) {dead} exited unexpectedly") from None

    def _next_batch(self):
        while True:
            if self._iterable and len(self._done_workers) == len(self._workers):
                self._shutdown()
                raise StopIteration
            if self._iterable and self._worker_for(self._want) in self._done_workers:
                self._want += 1
                continue
            if not self._iterable and self._want >= self._next_seq and self._exhausted:
                self._shutdown()
                raise StopIteration
            if self._want in self._buffer:
                worker, result = self._buffer.pop(self._want)
                self._want += 1
                if isinstance(result, _WorkerError):
                    self._shutdown()
                    raise RuntimeError(f"DataLoader worker {result.worker_id} failed in {result.where}:\n{result.text}")
                if result is _END or isinstance(result, _End):
                    self._done_workers.add(worker)
                    continue
                self._dispatch()
                return result
            worker, seq, result = self._get()
            if seq < 0 and isinstance(result, _WorkerError):
                self._shutdown()
                raise RuntimeError(f"DataLoader worker {result.worker_id} failed in {result.where}:\n{result.text}")
            self._buffer[seq] = (worker, result)

    def __next__(self):
        batch = self._next_batch()
        self.yielded += 1
        return batch

    def __len__(self) -> int:
        return len(self.loader)

    def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        for iq in self._index_queues:
            try:
                iq.put(None)
            except (OSError, ValueError):
                pass
        for p in self._workers:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
        for q in [*self._index_queues, self._result_queue]:
            q.close()
            q.cancel_join_thread()

    def __del__(self) -> None:
        try:
            self._shutdown()
        except Exception:
            pass
