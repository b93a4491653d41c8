"""``python -m svdstudio`` opens the GUI."""

import sys

from svdstudio.app import main

if __name__ == "__main__":
    sys.exit(main())
