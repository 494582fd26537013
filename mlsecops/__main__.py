"""`python -m mlsecops` runs the same CLI as the `mlsecops` console script."""

import sys

from mlsecops.cli.main import main

sys.exit(main())
