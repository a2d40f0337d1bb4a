"""Numba kernels for loops NumPy cannot express well.

Each kernel module is imported lazily by the op that needs it (so ``import
ember`` never imports Numba), compiled with ``cache=True`` and run
single-threaded: Numba threads fighting OpenBLAS threads on two cores made
steps several times slower. Where an op splits its work into independent
parts, ``ember._threads.run_parts`` runs them side by side, each thread with
single-threaded BLAS, so the two never compete.
"""
