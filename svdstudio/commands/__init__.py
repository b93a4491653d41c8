"""Sub-commands of ``svdstudio-cli``.

Each module has ``add_parser(subparsers)`` and ``run(args)``.
"""
