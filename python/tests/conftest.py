"""Shared by the binding's tests: one runtime for the whole session (dt_init
works once per process), and a way to run snippets in fresh processes for
what must happen before dt_init or after dt_finalize, or on several ranks."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYDIR = os.path.join(ROOT, "python")
sys.path.insert(0, PYDIR)
os.environ.setdefault("DT_NUM_WORKERS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import dtask  # noqa: E402


def env(**extra):
    e = dict(os.environ)
    e["PYTHONPATH"] = PYDIR + os.pathsep + e.get("PYTHONPATH", "")
    e.update(extra)
    return e


def run(args, timeout=120, **extra):
    """Runs a command with the package on PYTHONPATH; returns (status, output)."""
    p = subprocess.run(args, env=env(**extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, text=True)
    return p.returncode, p.stdout


def run_snippet(code, **extra):
    return run([sys.executable, "-c", code], **extra)


@pytest.fixture(scope="session")
def runtime():
    rt = dtask.init()
    yield rt
    dtask.finalize()
