"""The binding on 2 ranks under mpiexec.mpich: dtask.main, native and Python
tasks sent to rank 1 over dt_dmalloc memory, and the example matmul."""
import os
import shutil
import sys

import pytest

from conftest import HERE, ROOT, run

MPIEXEC = shutil.which("mpiexec.mpich")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="needs MPICH's mpiexec.mpich")


def mpirun(n, *args):
    return run([MPIEXEC, "-n", str(n), sys.executable] + list(args), timeout=180, DT_NUM_WORKERS="1")


def test_two_ranks_app():
    rc, out = mpirun(2, os.path.join(HERE, "ranks_app.py"))
    assert rc == 0, out
    assert "ranks_app: ok (2 ranks, Python tasks ran on [0, 1, 0, 1])" in out, out


def test_two_ranks_app_error():
    """an exception in app: rank 0's dtask.main returns 1, the job ends"""
    rc, out = mpirun(2, os.path.join(HERE, "ranks_app.py"), "fail")
    assert rc == 1 and "RuntimeError: app failed on purpose" in out, out


def test_two_ranks_matmul():
    rc, out = mpirun(2, os.path.join(ROOT, "python", "examples", "matmul.py"), "300", "64")
    assert rc == 0 and "2 ranks" in out and "ok" in out, out
