"""Entry script for the PyInstaller bundle (packaging/svdstudio.spec)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # Must come first: a worker process spawned by the JobRunner re-runs this executable, and
    # freeze_support() turns that run into the worker instead of a second main window.
    multiprocessing.freeze_support()
    from svdstudio.app import main

    sys.exit(main())
