"""Import ``sklearn_lrf`` from this checkout, not from wherever it is installed.

The scripts here run as ``python benchmarks/<script>.py``, which puts ``benchmarks/`` (not the
repository) first on ``sys.path``; an editable install of another checkout would then be
benchmarked instead of this one.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
