"""``python -m auglab.report DIR [--select METRIC] [--wandb-report]``."""

import sys

from auglab.report.cli import main

sys.exit(main())
