"""The dtask Python binding: native task types through libffi, Python task
bodies, accesses from numpy arrays, the common address space, and every
error path's DT_E* code."""
import ctypes
import os
import re
import sys
import threading
import time
from ctypes import POINTER, c_double, c_int, c_long, c_size_t, c_void_p

import numpy as np
import pytest

from conftest import ROOT, run, run_snippet
import dtask

pytestmark = pytest.mark.usefixtures("runtime")

blas = ctypes.CDLL("libopenblas.so.0", mode=ctypes.RTLD_GLOBAL)
libc = ctypes.CDLL(None)
V6 = [c_int, c_double, c_void_p, c_int, c_void_p, c_int]
daxpy = dtask.native("daxpy", symbol="cblas_daxpy", argtypes=V6)
dscal = dtask.native("dscal", symbol="cblas_dscal", argtypes=[c_int, c_double, c_void_p, c_int])


# ---- the binding's tables follow the header ----------------------------------

def header():
    with open(os.path.join(ROOT, "include", "dtask.h")) as f:
        return f.read()


def test_error_codes_match_header():
    found = dict((n, int(v)) for n, v in re.findall(r"\b(DT_E[A-Z]+|DT_OK)\s*=\s*(-?\d+)", header()))
    assert found == dtask._lib.ERRORS
    for name, code in found.items():
        assert getattr(dtask, name) == code


def test_ffi_codes_match_header():
    body = re.search(r"enum \{\s*(DT_FFI_VOID.*?)\};", header(), re.S).group(1)
    names = re.findall(r"DT_FFI_(\w+)", body)
    assert tuple(names) == dtask._lib.FFI_NAMES
    assert dtask.FFI_PTR == len(names) - 1
    assert int(re.search(r"DT_FFI_MAX_ARGS (\d+)", header()).group(1)) == dtask._lib.FFI_MAX_ARGS


# ---- native task types --------------------------------------------------------

def test_native_by_symbol_in_order():
    """dscal and daxpy on two halves: the result depends on the order the
    accesses impose."""
    n = 1000
    x, y = np.arange(2 * n, dtype=float) % 7, np.ones(2 * n)
    want = y.copy()
    for k in range(40):
        h = slice((k % 2) * n, (k % 2 + 1) * n)
        if k % 4 < 2:
            dscal(n, -1.0 if k % 3 == 0 else 2.0, y[h], 1, access=[dtask.INOUT(y[h])])
            want[h] *= -1.0 if k % 3 == 0 else 2.0
        else:
            daxpy(n, float(k), x[h], 1, y[h], 1, access=[dtask.IN(x[h]), dtask.INOUT(y[h])])
            want[h] += k * x[h]
    dtask.taskwait()
    assert np.array_equal(y, want)


def test_native_from_ctypes_function():
    """a CDLL function with its own argtypes/restype, and every argument kind"""
    memset = libc.memset
    memset.argtypes = [c_void_p, c_int, c_size_t]
    memset.restype = c_void_p
    t = dtask.native("libc_memset", memset)
    assert dtask.native("libc_memset", memset).id == t.id  # again: the same type
    buf = np.zeros(64, dtype=np.uint8)
    cbuf = (ctypes.c_uint8 * 16)()
    t(buf[8:24], ord("x"), 16, access=[dtask.OUT(buf[8:24])])
    t(cbuf, 7, np.int64(16), access=[dtask.OUT(cbuf)])        # a ctypes array, a numpy integer
    t(ctypes.addressof(cbuf), 9, 4, access=[dtask.OUT((ctypes.addressof(cbuf), 4))])  # an address
    dtask.taskwait()
    assert bytes(buf[8:24]) == b"x" * 16 and buf[:8].sum() == 0 and buf[24:].sum() == 0
    assert list(cbuf) == [9] * 4 + [7] * 12


def test_native_runs_without_the_gil():
    """A native task runs while this thread keeps the GIL (no switch for
    1000 s): it never needs it."""
    memset = dtask.native("memset_gil", symbol="memset", argtypes=[c_void_p, c_int, c_size_t],
                          restype=c_void_p)
    flag = np.zeros(8, dtype=np.uint8)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    try:
        memset(flag, 1, 8, access=[dtask.OUT(flag)])
        end = time.monotonic() + 10
        while flag[0] == 0 and time.monotonic() < end:
            pass
        seen = flag[0]
    finally:
        sys.setswitchinterval(old)
    dtask.taskwait()
    assert seen == 1


def test_2d_tiles():
    """dscal on 2-D tiles of a row-major matrix; overlapping tiles in order"""
    M = np.ones((64, 64))
    rows = dtask.native("dscal_rows", symbol="cblas_dscal", argtypes=[c_int, c_double, c_void_p, c_int])
    for i in range(0, 64, 16):
        for j in range(0, 64, 16):
            tile = M[i:i + 16, j:j + 16]
            for r in range(16):  # one dscal per row of the tile, all under the tile's access
                rows(16, 2.0, tile[r], 1, access=[dtask.INOUT(tile[r])])
    # a tile across the others: after them
    mid = M[8:40, 8:40]
    for r in range(32):
        rows(32, 3.0, mid[r], 1, access=[dtask.INOUT(mid)])
    dtask.taskwait()
    want = np.full((64, 64), 2.0)
    want[8:40, 8:40] *= 3
    assert np.array_equal(M, want)


def test_region_shapes():
    M = np.zeros((10, 12))
    a = M.__array_interface__["data"][0]
    assert dtask.region(M) == (a, 960, 0, 0)
    assert dtask.region(M[2:5]) == (a + 2 * 96, 3 * 96, 0, 0)
    assert dtask.region(M[2:5, 3:7]) == (a + 2 * 96 + 24, 32, 3, 96)
    assert dtask.region(M[:, 4]) == (a + 32, 8, 10, 96)           # a column
    assert dtask.region(M[1:2, 3:7]) == (a + 96 + 24, 32, 0, 0)   # one row: contiguous
    assert dtask.region((a, 16)) == (a, 16, 0, 0)
    for bad in (M.T, M[::-1], M[:, ::2], np.zeros((4, 4, 4))[:, 1:3, :]):
        with pytest.raises(dtask.DtaskError) as e:
            dtask.region(bad)
        assert e.value.name == "DT_EINVAL" and e.value.code == dtask.DT_EINVAL
    with pytest.raises(dtask.DtaskError):
        dtask.region("text")


# ---- Python task bodies -------------------------------------------------------

@dtask.pytask
def add_into(dst, src, scale=1.0):
    dst += scale * src


@dtask.pytask(name="raises")
def raises(msg):
    raise ValueError(msg)


def test_pytask_arrays_by_reference():
    a, b = np.zeros((8, 8)), np.arange(64.0).reshape(8, 8)
    for k in range(5):
        add_into(a[2:6, 1:5], b[2:6, 1:5], scale=k, access=[dtask.INOUT(a[2:6, 1:5]), dtask.IN(b)])
    dtask.taskwait()
    want = np.zeros((8, 8))
    want[2:6, 1:5] = 10 * b[2:6, 1:5]
    assert np.array_equal(a, want)
    assert add_into.name == "test_binding.add_into" and raises.name == "raises"


def test_pytask_exception_raised_at_taskwait():
    raises("from a task")
    with pytest.raises(ValueError, match="from a task"):
        dtask.taskwait()
    dtask.taskwait()  # reported once


def test_taskwait_on():
    a = np.zeros(4)
    add_into(a, np.ones(4), access=[dtask.INOUT(a)])
    dtask.taskwait(dtask.IN(a))
    assert a.sum() == 4


# ---- common address space -----------------------------------------------------

def test_dmalloc_lmalloc():
    D = dtask.dmalloc((100, 10))
    L = dtask.lmalloc(50, dtype=np.int32)
    assert D.shape == (100, 10) and D.dtype == np.float64 and L.dtype == np.int32
    D[:] = 1
    add_into(D[10:20, 2:4], D[30:40, 2:4], access=[dtask.INOUT(D[10:20, 2:4]), dtask.IN(D[30:40, 2:4])])
    dtask.taskwait()
    assert D.sum() == 1000 + 20
    dtask.dfree(D[5:])      # any view frees its allocation
    dtask.lfree(L)
    with pytest.raises(dtask.DtaskError) as e:
        dtask.lfree(L)
    assert e.value.code < 0 and e.value.name.startswith("DT_E")


# ---- errors -------------------------------------------------------------------

def code(fn, *a, **k):
    with pytest.raises(dtask.DtaskError) as e:
        fn(*a, **k)
    assert dtask._lib.ERRORS[e.value.name] == e.value.code
    assert e.value.name in str(e.value)
    return e.value.name


def test_registration_errors():
    assert code(dtask.native, "nosym", symbol="dt_no_such_symbol", argtypes=[]) == "DT_ESYMBOL"
    assert code(dtask.native, "daxpy", symbol="cblas_dscal", argtypes=V6) == "DT_EEXIST"
    assert code(dtask.native, "daxpy", symbol="cblas_daxpy", argtypes=V6[:5]) == "DT_EEXIST"
    assert code(dtask.native, "longdbl", symbol="memset", argtypes=[ctypes.c_longdouble]) == "DT_ESIGNATURE"
    assert code(dtask.native, "void_arg", symbol="memset", argtypes=[dtask.FFI_VOID]) == "DT_ESIGNATURE"
    assert code(dtask.native, "bad_code", symbol="memset", argtypes=[99]) == "DT_ESIGNATURE"
    assert code(dtask.native, "many", symbol="memset", argtypes=[c_int] * 33) == "DT_ESIGNATURE"
    assert code(dtask.native, "noargs", ctypes.CDLL(None).strlen) == "DT_ESIGNATURE"  # no argtypes known
    assert code(dtask.native, "both", libc.memset, symbol="memset", argtypes=[]) == "DT_EINVAL"
    assert code(dtask.native, "", symbol="memset", argtypes=[c_void_p]) == "DT_EINVAL"
    assert code(dtask.native, "n" * 64, symbol="memset", argtypes=[c_void_p]) == "DT_EINVAL"
    # pointer types of every kind are pointers; ctypes' c_long and c_size_t are
    # its 64-bit types (aliases), the same in the ABI
    t = dtask.native("ptrs", symbol="memset", argtypes=[POINTER(c_double), c_long, c_size_t])
    assert t.codes == (dtask.FFI_PTR, dtask.FFI_I64, dtask.FFI_U64)


def test_task_errors():
    x = np.zeros(4)
    assert code(daxpy, 4, 1.0, x, 1, x) == "DT_ESIGNATURE"                       # one argument short
    assert code(daxpy, 4, 1.0, x, 1, "x", 1) == "DT_EINVAL"                      # not a pointer
    assert code(daxpy, 4, "one", x, 1, x, 1) == "DT_EINVAL"                      # not a number
    assert code(daxpy, 4, 1.0, x, 1, x, 1, access=[(99, x)]) == "DT_EMODE"
    assert code(daxpy, 4, 1.0, x, 1, x, 1, access=[dtask.INOUT(x)], node=5) == "DT_ERANGE"
    assert code(dtask.taskwait, (dtask.DT_IN | 0x80, x)) == "DT_EMODE"
    dtask.taskwait()


def test_lifecycle_errors():
    """before dt_init, twice, after dt_finalize, a bad configuration:
    each in a fresh process"""
    snippet = """
import dtask
def name(f, *a):
    try:
        f(*a)
    except dtask.DtaskError as e:
        return e.name
    return "no error"
print(name(dtask.taskwait), name(dtask.dmalloc, 8), name(dtask.rank))
dtask.init()
print(name(dtask.init))
dtask.finalize()
print(name(dtask.taskwait), name(dtask.finalize), name(dtask.num_workers))
"""
    rc, out = run_snippet(snippet)
    assert rc == 0, out
    assert out.split() == ["DT_ENOTINIT"] * 3 + ["DT_EALREADY"] + ["DT_EFINALIZED"] * 3
    rc, out = run_snippet("import dtask\ntry:\n    dtask.init()\nexcept dtask.DtaskError as e:\n"
                          "    print(e.name, e.code)\n", DT_NUM_WORKERS="many")
    assert rc == 0 and out.split("\n")[-2] == "DT_ECONFIG -12", out


def test_library_from_env():
    rc, out = run_snippet("import dtask; print(dtask.library_path)", DTASK_LIBRARY="/nonexistent/libdtask.so")
    assert rc != 0 and "DTASK_LIBRARY=/nonexistent/libdtask.so" in out
    lib = os.environ.get("DTASK_LIBRARY", os.path.join(ROOT, "build", "libdtask.so"))
    rc, out = run_snippet("import dtask; print(dtask.library_path)", DTASK_LIBRARY=lib)
    assert rc == 0 and out.strip() == lib


def test_example_one_rank():
    rc, out = run([sys.executable, os.path.join(ROOT, "python", "examples", "matmul.py"), "200", "64"])
    assert rc == 0 and "ok" in out, out
