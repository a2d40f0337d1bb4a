"""Numba kernels for loops NumPy cannot express well.

Each kernel module is imported lazily by the op that needs it (so ``import
ember`` never imports Numba), compiled with ``cache=True`` and run
single-threaded: Numba threads fighting OpenBLAS threads on two cores made
steps several times slower.
"""
