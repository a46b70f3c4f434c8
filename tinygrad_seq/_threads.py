"""One thread policy for every entry point (the CLI, examples/, benchmarks/): BLAS on one thread.

Measured on 2 cores with other processes running: OpenBLAS's threads busy-wait for each other,
and a char-LM training step took 1022 ms instead of 29 ms on one thread (examples ran 6-15x
slower than the CLI, which alone limited its threads); without load one and two threads are
within 15% at these sizes. A library does not change the threads of the program that imports
it, so only entry points call this, at their top.
"""

import contextlib
import os

# set by a user who chose a thread count for NumPy's BLAS (or PyTorch's OpenMP): respected
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def threads_chosen_by_user():
    """Whether the environment sets a thread count (one of ``THREAD_VARIABLES``).

    >>> import os
    >>> threads_chosen_by_user() == any(os.environ.get(v) for v in THREAD_VARIABLES)
    True
    """
    return any(os.environ.get(name) for name in THREAD_VARIABLES)


def limit_blas_threads():
    """A context manager that runs NumPy's BLAS on one thread inside, and restores it after;
    it changes nothing if the user set a thread count (``threads_chosen_by_user``) or if
    threadpoolctl, which switches BLAS threads at run time, is not installed.

    >>> import numpy as np
    >>> with limit_blas_threads():
    ...     product = np.ones((2, 3)) @ np.ones((3, 2))
    >>> product.tolist()
    [[3.0, 3.0], [3.0, 3.0]]
    """
    if threads_chosen_by_user():
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # nothing changes: OPENBLAS_NUM_THREADS=1 does the same by hand
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")
