"""What the sessions of ``noxfile.py`` use: the workspace's members, Node.js from the lock,
a Chromium for the docs, the deployable artifacts and the repository's line limit.

The noxfile keeps only the sessions; each helper here is a module of its own. Nox runs the
noxfile from the repository root, where this package is importable.
"""
