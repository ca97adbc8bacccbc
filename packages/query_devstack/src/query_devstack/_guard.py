"""``python -m query_devstack._guard PARENT_PID PROGRAM [ARG ...]``: exec PROGRAM, tied to PARENT.

Sets ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` (kept across ``execve``), checks that the
parent is still the one that started us (it may have died before the call), then
replaces this process with PROGRAM. See ``query_devstack.orphan_safe``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    parent, program, *args = argv
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != int(parent):  # the parent died before prctl: nobody would tell us
        sys.exit(f"{program}: the process that started it has already exited")
    path = shutil.which(program) or program
    os.execv(path, [program, *args])  # noqa: S606 - our own command line, no shell


if __name__ == "__main__":
    main(sys.argv[1:])
