"""Sub-commands of ``svdstudio-cli``; each module has ``add_parser(subparsers)`` and ``run(args)``."""
