"""``python -m svdstudio`` opens the GUI."""

import sys

from .app import main

sys.exit(main())
