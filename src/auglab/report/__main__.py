"""``python -m auglab.report DIR [--select METRIC]``."""

import sys

from auglab.report.cli import main

sys.exit(main())
