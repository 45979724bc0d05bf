"""``ess-qpv link``: placeholder replaced by the linking command."""


def register(commands) -> None:
    return None
