"""``python -m pyNN_sparsehw.calibration``: see :mod:`.command`."""

import sys

from .command import main

sys.exit(main())
