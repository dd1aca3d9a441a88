"""`python -m cclm.cli` runs the `cclm` command."""

import sys

from cclm.cli.main import main

sys.exit(main())
