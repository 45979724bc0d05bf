"""ess-qpv: link social and solidarity economy initiatives to the French priority
neighbourhoods (quartiers prioritaires de la politique de la ville, QPV), and map them.

The pipeline, one module per step: :mod:`geo.qpv` (official boundaries) →
:mod:`geo.initiatives` (reading the user's table) → :mod:`geo.link` (implanted, nearby,
served) → tables written by :mod:`geo.io`; :mod:`geo.cli` is the command line.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .qpv import filter_qpv, load_key_figures, load_qpv, qpv_info  # noqa: E402

__all__ = ["__version__", "filter_qpv", "load_key_figures", "load_qpv", "qpv_info"]
