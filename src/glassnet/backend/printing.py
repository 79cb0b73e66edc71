"""How ``print(tensor)`` formats values: the options ``glassnet.set_printoptions`` sets
(PyTorch's precision, threshold, edgeitems, linewidth, sci_mode and profiles), applied through
NumPy's ``array2string``."""

from __future__ import annotations

import numpy as np

_PROFILES = {
    "default": {"precision": 8, "threshold": 20, "edgeitems": 3, "linewidth": 75},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": np.inf, "edgeitems": 3, "linewidth": 80},
}
PRINT = dict(_PROFILES["default"], sci_mode=None)


def set_options(precision, threshold, edgeitems, linewidth, profile, sci_mode) -> None:
    """``glassnet.set_printoptions`` (see there)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}")
        PRINT.update(_PROFILES[profile], sci_mode=None)
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):  # fmt: skip
        if value is not None:
            PRINT[key] = value
    if sci_mode is not None:
        PRINT["sci_mode"] = bool(sci_mode)


def format_array(a: np.ndarray, prefix: str) -> str:
    """``a`` as ``print(tensor)`` shows it, with the current print options."""
    options = {k: PRINT[k] for k in ("precision", "threshold", "edgeitems")}
    if PRINT["sci_mode"] is not None and a.dtype.kind in "fc":
        kind = "e" if PRINT["sci_mode"] else "f"
        digits = PRINT["precision"]
        options["formatter"] = {"float_kind": lambda v: f"{v:.{digits}{kind}}"}
    return np.array2string(
        a, separator=", ", prefix=prefix, max_line_width=PRINT["linewidth"], **options
    )
