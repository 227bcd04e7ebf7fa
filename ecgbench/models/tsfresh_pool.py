"""tsfresh's map-reduce over :func:`ecgbench.threads.process_pool` (a module of its own: importing tsfresh takes
seconds, and only a tsfresh-xgboost cell needs it)."""

from __future__ import annotations

from functools import partial

from tsfresh.utilities.distribution import IterableDistributorBaseClass


class PoolDistributor(IterableDistributorBaseClass):
    """tsfresh's distributor over a pool that outlives the call: tsfresh closes its own after each extraction,
    and a cell extracts several times (selection, training, validation and test beats)."""

    def __init__(self, pool, n_workers: int):
        self.pool, self.n_workers = pool, n_workers  # n_workers sets tsfresh's chunk size: 5 chunks per worker
        self.progressbar_title, self.disable_progressbar = "Feature Extraction", True

    def distribute(self, func, partitioned_chunks, kwargs):
        return self.pool.map(partial(func, **kwargs), partitioned_chunks)  # in order: the rows of one process

    def close(self):
        pass  # the pool's idle workers stop by themselves (POOL_IDLE_SECONDS)
