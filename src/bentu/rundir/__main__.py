"""``python -m bentu.rundir > docs/run-directory.md``: regenerate the run directory's docs."""

import sys

from bentu.rundir import render_docs

sys.stdout.write(render_docs())
