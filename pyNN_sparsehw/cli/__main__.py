"""``python -m pyNN_sparsehw.cli`` is the ``sparsehw`` command."""

import sys

from .commands import main

sys.exit(main())
