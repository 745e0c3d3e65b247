"""Command-line edge cases that must end like a Unix tool, not with a Python traceback."""
from __future__ import annotations

import os
import subprocess

from conftest import NIPSTACK


def test_closed_stdout_pipe_ends_quietly(tmp_path):
    """`nipstack check --schema | head -1`: when the reader has gone, the rest of the output
    is dropped, with no BrokenPipeError traceback and the command's own exit code (0). The
    read end is closed before the command starts, so the pipe is broken at the first write
    (with `head` that depends on timing)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([NIPSTACK, "check", "--schema"], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=300)
    finally:
        os.close(write)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
