"""OpenBLAS on one thread for a whole step of small products (:class:`blas_region`).

:func:`glassnet.backend.parallel.product` runs a product below ``SMALL_PRODUCT`` on one
OpenBLAS thread, switching the count there and back around it; inside a sticky region it
switches once and leaves the restoring to the region's end.
"""

from __future__ import annotations

from glassnet.backend import parallel

__all__ = ["blas_region"]


class _Region:
    """The OpenBLAS count that :class:`blas_region` switched from (None: not switched),
    whether it keeps one thread between products (``sticky``), and whether a product on
    OpenBLAS's threads ran in it (``large``)."""

    __slots__ = ("count", "sticky", "large")

    def __init__(self, sticky: bool) -> None:
        self.count, self.sticky, self.large = None, sticky, False

    def one_thread(self) -> None:
        with parallel._blas_switch:
            count = parallel._get_blas_threads()
            if count is not None and count > 1:
                parallel._set_blas_threads(1)
                if self.count is None:
                    self.count = count

    def restore(self) -> None:
        if self.count is not None:
            with parallel._blas_switch:
                parallel._set_blas_threads(self.count)
            self.count = None


class blas_region:
    """``with blas_region(sticky) as region:`` around a step of only small products
    (``gn.compile``'s replay of a small model): the first product below ``SMALL_PRODUCT``
    switches OpenBLAS to one thread, as ``parallel.one_blas_thread`` does, and the count is
    restored at the region's end (or before a larger product), not after every product. A
    small MLP's step switched back and forth eight times (W1s, 2 threads: 0.45 against 0.40
    ms at one thread). ``region.large`` tells afterwards whether a larger product ran on
    OpenBLAS's threads: then the caller passes ``sticky=False`` next time (per-product
    switching), because OpenBLAS's workers idle through a long one-thread stretch and are
    slow to wake for the next large product (W1, 2 threads: 1.9-2.0 -> 2.1-2.4 ms when
    sticky). The count is process-wide: another thread's products in the region also run
    on one BLAS thread. Nested regions share the outermost one."""

    __slots__ = ("sticky", "region")

    def __init__(self, sticky: bool = True) -> None:
        self.sticky = sticky

    def __enter__(self) -> _Region:
        self.region = None
        if getattr(parallel._local, "region", None) is None:
            self.region = parallel._local.region = _Region(self.sticky)
        return parallel._local.region

    def __exit__(self, *exc) -> None:
        if self.region is not None:
            parallel._local.region = None
            self.region.restore()
