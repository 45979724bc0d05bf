"""``python -m geo.cli``: the ``ess-qpv`` command."""

import sys

from . import main

sys.exit(main())
