"""``python -m bench``: every benchmark (today: the runtime's, see bench.runtime)."""

from __future__ import annotations

import sys

from bench.runtime import main

sys.exit(main())
