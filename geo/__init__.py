"""ess-qpv: link social and solidarity economy initiatives to the French priority
neighbourhoods (quartiers prioritaires de la politique de la ville, QPV), and map them.

The pipeline, one module per step: :mod:`geo.qpv` (official boundaries) →
:mod:`geo.initiatives` (reading the user's table) → :mod:`geo.geocode` (addresses) →
:mod:`geo.link` (implanted, nearby, served) → :mod:`geo.write.maps`, :mod:`geo.write.printmap`,
:mod:`geo.write.report` (outputs). :mod:`geo.study` is the one orchestrator: every door (the
command line :mod:`geo.cli`, the study file :mod:`geo.studyfile`, the notebook) builds a
:class:`~geo.study.Study` and calls :func:`~geo.study.run_study`. :mod:`geo.vocabulary`
holds the column names, statuses and defaults.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Public names, imported on first use so that ``import geo`` stays light.
_API = {
    "load_qpv": "qpv", "filter_qpv": "qpv", "qpv_info": "qpv", "load_key_figures": "qpv",
    "read_initiatives": "initiatives", "geocode": "geocode", "Geocoder": "geocode",
    "link": "link", "link_points": "link", "compare": "link", "make_map": "maps",
    "print_map": "printmap", "write_report": "report", "write_table": "io",
    "self_contained": "assets", "Study": "study", "run_study": "study",
    "StudyArea": "area", "load_study": "studyfile",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
