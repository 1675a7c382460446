"""Repository-wide pytest set-up.

The test run, notebooks included, is the quick (CI) mode unless the caller says
otherwise: ``MNISTSUM_QUICK=0 pytest`` runs the notebooks' full recipes. The
variable is set here, before nbval starts any kernel, so kernels inherit it.
"""

import os

os.environ.setdefault("MNISTSUM_QUICK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

collect_ignore_glob = ["mnistsum/__main__.py", "benchmarks/*", "build/*"]
