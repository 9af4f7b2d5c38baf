"""dtask - Python binding of libdtask (ctypes; numpy optional).

    import ctypes, dtask
    blas = ctypes.CDLL("libopenblas.so.0", mode=ctypes.RTLD_GLOBAL)
    gemm = dtask.native("dgemm", symbol="cblas_dgemm", argtypes=[...])
    with dtask.init():
        gemm(*args, access=[dtask.IN(a), dtask.IN(b), dtask.INOUT(c)])
        dtask.taskwait()

Native task types (`native`) run through libffi on the worker threads without
the GIL.  Python task bodies (`pytask`) take the GIL on the worker that runs
them.  Accesses name numpy arrays: a C-contiguous array is one range; a 2-D
slice with contiguous rows (or a 1-D slice with a step) is a 2-D region.
Multi-rank programs call `main(app)` on every rank after registering the
same types in the same order; rank 0 runs app.  Errors raise DtaskError,
which carries the DT_E* name and code.  See README.md ("Native functions as
tasks, and Python") and bench/RESULTS.md for the costs.
"""
import ctypes
import pickle
import struct
import sys
import threading
import traceback
from ctypes import c_int, c_size_t, c_void_p

from . import _lib
from ._lib import (DT_COMMUTATIVE, DT_CONCURRENT, DT_IN, DT_INOUT, DT_NODE_ANY, DT_OUT, DT_TASK_FINAL,
                   DT_TASK_IF0, DT_WEAK, ERRORS, FFI, FFI_MAX_ARGS, dt_access_t, dt_task_attr_t, lib)

try:
    import numpy as _np
except ImportError:  # numpy is optional: accesses and pointers then take addresses
    _np = None

__all__ = ["DtaskError", "init", "finalize", "main", "rank", "num_ranks", "num_workers", "native",
           "pytask", "TaskType", "IN", "OUT", "INOUT", "CONCURRENT", "COMMUTATIVE", "taskwait",
           "dmalloc", "dfree", "lmalloc", "lfree", "region", "library_path", "NODE_ANY"]

NODE_ANY = DT_NODE_ANY
library_path = _lib.path
globals().update({name: code for name, code in ERRORS.items()})
globals().update({"FFI_" + n: c for n, c in FFI.items()})


class DtaskError(Exception):
    """A libdtask call failed: .code is the DT_E* code (negative), .name its name."""

    def __init__(self, code, detail=None):
        self.code = code
        self.name = _lib.ERROR_NAMES.get(code, "DT_E?")
        msg = "%s (%d): %s" % (self.name, code, lib.dt_strerror(code).decode())
        super().__init__(msg + (": " + detail if detail else ""))


def _check(rc, detail=None):
    if rc < 0:
        raise DtaskError(rc, detail)
    return rc


# ---- lifecycle ----------------------------------------------------------------

class init:
    """dt_init(); as a context manager, dt_finalize() at its end."""

    def __init__(self):
        _check(lib.dt_init(None, None), "dt_init")

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        finalize()
        return False


def finalize():
    """Waits for every task, shuts the runtime down; raises the first error of a
    Python task body, if one failed."""
    _check(lib.dt_finalize(), "dt_finalize")
    _raise_task_error()


def main(app, argv=None):
    """dt_main: on every rank, after registering the same types in the same
    order.  Rank 0 runs app(*argv) as the root task while the other ranks serve
    offloaded tasks.  Returns app's int result on rank 0 (None counts as 0), 0
    on the others; an exception in app is printed and makes it 1."""
    argv = list(argv or ())

    def run(argc, cargv):
        try:
            r = app(*argv)
            _check(lib.dt_taskwait(), "dt_taskwait")
            _raise_task_error()
            return int(r or 0)
        except BaseException:  # never unwind through C
            traceback.print_exc()
            sys.stderr.flush()
            return 1

    cb = _lib.APP_FN(run)
    rc = lib.dt_main(0, None, cb)
    if rc < 0:
        raise DtaskError(rc, "dt_main")
    return rc


def rank():
    return _check(lib.dt_rank(), "dt_rank")


def num_ranks():
    return _check(lib.dt_num_ranks(), "dt_num_ranks")


def num_workers():
    return _check(lib.dt_num_workers(), "dt_num_workers")


# ---- accesses -----------------------------------------------------------------

def region(x):
    """(addr, size, rows, stride) of an access target: a numpy array (C-contiguous,
    or 2-D with contiguous rows, or 1-D with a step), a ctypes object, or an
    (addr, size) / (addr, size, rows, stride) tuple."""
    ai = getattr(x, "__array_interface__", None)
    if ai is not None:
        addr = ai["data"][0]
        shape, strides = ai["shape"], ai["strides"]
        if strides is None:  # C-contiguous
            return addr, x.nbytes, 0, 0
        item = x.itemsize
        if x.flags.c_contiguous:
            return addr, x.nbytes, 0, 0
        if len(shape) == 2 and strides[1] == item and strides[0] >= shape[1] * item:
            return addr, shape[1] * item, shape[0], strides[0]
        if len(shape) == 1 and strides[0] >= item:
            return addr, item, shape[0], strides[0]
        raise DtaskError(ERRORS["DT_EINVAL"], "an access must be C-contiguous, 2-D with contiguous rows "
                         "and ascending row addresses, or 1-D with a positive step (shape %s, strides %s)"
                         % (shape, strides))
    if isinstance(x, tuple):
        if len(x) == 2:
            return x[0], x[1], 0, 0
        if len(x) == 4:
            return x
    if isinstance(x, ctypes._SimpleCData) or isinstance(x, (ctypes.Array, ctypes.Structure)):
        return ctypes.addressof(x), ctypes.sizeof(x), 0, 0
    raise DtaskError(ERRORS["DT_EINVAL"], "cannot make an access of %r" % type(x).__name__)


def _mode(base, x, weak):
    return (base | (DT_WEAK if weak else 0), x)


def IN(x, weak=False):
    return _mode(DT_IN, x, weak)


def OUT(x, weak=False):
    return _mode(DT_OUT, x, weak)


def INOUT(x, weak=False):
    return _mode(DT_INOUT, x, weak)


def CONCURRENT(x, weak=False):
    return _mode(DT_CONCURRENT, x, weak)


def COMMUTATIVE(x, weak=False):
    return _mode(DT_COMMUTATIVE, x, weak)


def _accesses(access):
    n = len(access)
    if not n:
        return None, 0
    return (dt_access_t * n)(*[(mode,) + tuple(region(x)) for mode, x in access]), n


def taskwait(*access):
    """Waits for the children of the current task (all, or those accessing
    the given IN/OUT/... regions); raises the first error of a Python task
    body since the last wait."""
    if access:
        arr, n = _accesses(access)
        _check(lib.dt_taskwait_on(arr, n), "dt_taskwait_on")
    else:
        _check(lib.dt_taskwait(), "dt_taskwait")
    _raise_task_error()


# ---- task types ---------------------------------------------------------------

_C_OF_CODE = {FFI["I8"]: ctypes.c_int8, FFI["I16"]: ctypes.c_int16, FFI["I32"]: ctypes.c_int32,
              FFI["I64"]: ctypes.c_int64, FFI["U8"]: ctypes.c_uint8, FFI["U16"]: ctypes.c_uint16,
              FFI["U32"]: ctypes.c_uint32, FFI["U64"]: ctypes.c_uint64, FFI["INT"]: ctypes.c_int,
              FFI["UINT"]: ctypes.c_uint, FFI["LONG"]: ctypes.c_long, FFI["ULONG"]: ctypes.c_ulong,
              FFI["SIZE"]: ctypes.c_size_t, FFI["FLOAT"]: ctypes.c_float,
              FFI["DOUBLE"]: ctypes.c_double, FFI["PTR"]: ctypes.c_void_p}
# ctypes' fixed-width names are aliases of the C ones of the same size
_CODE_OF_C = {ctypes.c_int8: FFI["I8"], ctypes.c_int16: FFI["I16"], ctypes.c_int32: FFI["I32"],
              ctypes.c_int64: FFI["I64"], ctypes.c_uint8: FFI["U8"], ctypes.c_uint16: FFI["U16"],
              ctypes.c_uint32: FFI["U32"], ctypes.c_uint64: FFI["U64"], ctypes.c_bool: FFI["U8"],
              ctypes.c_float: FFI["FLOAT"], ctypes.c_double: FFI["DOUBLE"], ctypes.c_void_p: FFI["PTR"],
              ctypes.c_char_p: FFI["PTR"], ctypes.c_wchar_p: FFI["PTR"]}


def _code(t, what):
    if t is None and what == "return type":
        return FFI["VOID"]
    if isinstance(t, int) and not isinstance(t, bool):
        return t  # a DT_FFI code: the library judges it
    if t in _CODE_OF_C:
        return _CODE_OF_C[t]
    if isinstance(t, type) and issubclass(t, (ctypes._Pointer, ctypes._CFuncPtr)):
        return FFI["PTR"]
    raise DtaskError(ERRORS["DT_ESIGNATURE"], "%s %r is not a supported ctypes type" % (what, t))


def _ptr(v):
    """The address a pointer argument carries."""
    if v is None or type(v) is int:
        return v
    ai = getattr(v, "__array_interface__", None)
    if ai is not None:
        return ai["data"][0]
    if isinstance(v, (ctypes._Pointer, ctypes.c_void_p, ctypes.c_char_p)):
        return ctypes.cast(v, c_void_p).value
    if isinstance(v, (ctypes._SimpleCData, ctypes.Array, ctypes.Structure)):
        return ctypes.addressof(v)
    if isinstance(v, int):
        return int(v)
    raise DtaskError(ERRORS["DT_EINVAL"], "a pointer argument cannot be a %s" % type(v).__name__)


def _attr(node, priority, label, final, if0):
    if node is None and not priority and label is None and not final and not if0:
        return None
    flags = (DT_TASK_FINAL if final else 0) | (DT_TASK_IF0 if if0 else 0)
    return ctypes.byref(dt_task_attr_t(priority, DT_NODE_ANY if node is None else node,
                                       label.encode() if label else None, flags))


class TaskType:
    """A registered task type; calling it creates a task."""

    def __init__(self, name, tid):
        self.name = name
        self.id = tid

    def __repr__(self):
        return "<dtask task type %r (%d)>" % (self.name, self.id)


class NativeType(TaskType):
    """A native function called through libffi; a task's arguments are the
    function's, pointers given as numpy arrays, ctypes objects or ints."""

    def __init__(self, name, tid, codes):
        super().__init__(name, tid)
        self.codes = tuple(codes)
        fields = [("a%d" % i, _C_OF_CODE[c]) for i, c in enumerate(codes)]
        self._struct = type("args_" + name, (ctypes.Structure,), {"_fields_": fields})
        size = c_size_t()
        offs = (c_size_t * max(1, len(codes)))()
        _check(lib.dt_ffi_layout((c_int * len(codes))(*codes), len(codes), offs, ctypes.byref(size)))
        # ctypes lays a Structure out like C: it is the args block as it is
        assert ctypes.sizeof(self._struct) == size.value
        assert all(getattr(self._struct, f[0]).offset == offs[i] for i, f in enumerate(fields))
        # ctypes converts numbers (numpy's too) itself: only pointers need a look
        self._ptrs = tuple(i for i, c in enumerate(codes) if c == FFI["PTR"])

    def __call__(self, *args, access=(), node=None, priority=0, label=None, final=False, if0=False):
        if len(args) != len(self.codes):
            raise DtaskError(ERRORS["DT_ESIGNATURE"], "%s takes %d arguments, %d given"
                             % (self.name, len(self.codes), len(args)))
        if self._ptrs:
            args = list(args)
            for i in self._ptrs:
                args[i] = _ptr(args[i])
        try:
            a = self._struct(*args)
        except TypeError as e:
            raise DtaskError(ERRORS["DT_EINVAL"], "%s: %s" % (self.name, e)) from None
        arr, n = _accesses(access)
        _check(lib.dt_task_create(self.id, ctypes.byref(a), ctypes.sizeof(a), arr, n,
                                  _attr(node, priority, label, final, if0)), "dt_task_create " + self.name)


def native(name, func=None, argtypes=None, restype=None, symbol=None):
    """Registers a native function as a task type named `name`: `func`, a
    ctypes function (from a CDLL; its .argtypes/.restype are the default
    signature), or `symbol`, a name dlsym finds in the loaded libraries (load
    them with RTLD_GLOBAL).  argtypes: ctypes types (c_int, c_double, c_void_p,
    POINTER(...)) or dtask.FFI_* codes.  The return value is discarded."""
    if (func is None) == (symbol is None):
        raise DtaskError(ERRORS["DT_EINVAL"], "give one of func and symbol")
    if argtypes is None:
        argtypes = getattr(func, "argtypes", None)
        if argtypes is None:
            raise DtaskError(ERRORS["DT_ESIGNATURE"], "no argtypes for %s" % name)
        if restype is None:
            restype = getattr(func, "restype", None)
    codes = [_code(t, "argument type") for t in argtypes]
    if len(codes) > FFI_MAX_ARGS:
        raise DtaskError(ERRORS["DT_ESIGNATURE"], "%d arguments, at most %d" % (len(codes), FFI_MAX_ARGS))
    ret = _code(restype, "return type")
    carr = (c_int * max(1, len(codes)))(*codes)
    tid = c_int()
    if symbol is not None:
        _check(lib.dt_type_register_symbol(name.encode(), symbol.encode(), ret, carr, len(codes),
                                           ctypes.byref(tid)), "register %s (%s)" % (name, symbol))
    else:
        addr = ctypes.cast(func, c_void_p).value
        _check(lib.dt_type_register_ffi(name.encode(), addr, ret, carr, len(codes), ctypes.byref(tid)),
               "register " + name)
    return NativeType(name, tid.value, codes)


# ---- Python task bodies -------------------------------------------------------

class _ArrayRef:
    """A numpy array argument of a Python task: its address, not its bytes
    (the task sees the same memory, on any rank for dt_dmalloc memory)."""
    __slots__ = ("addr", "shape", "strides", "dtype")

    def __init__(self, a):
        ai = a.__array_interface__
        self.addr, self.shape, self.strides, self.dtype = ai["data"][0], a.shape, a.strides, a.dtype.str

    def __getstate__(self):
        return (self.addr, self.shape, self.strides, self.dtype)

    def __setstate__(self, s):
        self.addr, self.shape, self.strides, self.dtype = s

    def array(self):
        dt = _np.dtype(self.dtype)
        if 0 in self.shape:
            return _np.empty(self.shape, dt)
        lo = sum((n - 1) * s for n, s in zip(self.shape, self.strides) if s < 0)
        hi = sum((n - 1) * s for n, s in zip(self.shape, self.strides) if s > 0) + dt.itemsize
        buf = (ctypes.c_char * (hi - lo)).from_address(self.addr + lo)
        return _np.ndarray(self.shape, dt, buffer=buf, offset=-lo, strides=self.strides)


_task_errors = []
_tls = threading.local()
_main_ident = threading.main_thread().ident
_ensure = ctypes.pythonapi.PyGILState_Ensure
_ensure.restype = ctypes.c_int


def _keep_thread_state():
    """A ctypes callback on a thread Python did not start makes a thread state
    and throws it away at every call (microseconds each); one more
    PyGILState_Ensure, never released, keeps this worker's for its lifetime."""
    _ensure()
    _tls.kept = True


_errors_lock = threading.Lock()
_keep = []  # ctypes callbacks must outlive the runtime
_LEN = struct.Struct("=Q")


def _raise_task_error():
    if _task_errors:
        with _errors_lock:
            err = _task_errors[0]
            _task_errors.clear()
        raise err


class PyType(TaskType):
    """A Python callable as a task body.  Arguments are pickled into the task
    (numpy arrays travel as their address: the body sees the same memory);
    the body runs on a worker holding the GIL."""

    def __init__(self, name, fn):
        self.fn = fn

        def body(p):
            if not getattr(_tls, "kept", False) and threading.get_ident() != _main_ident:
                _keep_thread_state()
            try:
                n = _LEN.unpack(ctypes.string_at(p, 8))[0]
                args, kwargs = pickle.loads(ctypes.string_at(p + 8, n))
                fn(*[a.array() if type(a) is _ArrayRef else a for a in args], **kwargs)
            except BaseException as e:  # never unwind through C: kept for the next wait
                if _rank_or_zero() != 0:
                    traceback.print_exc()
                with _errors_lock:
                    _task_errors.append(e)

        self._cb = _lib.TASK_FN(body)
        _keep.append(self._cb)
        tid = c_int()
        _check(lib.dt_type_register(name.encode(), self._cb, ctypes.byref(tid)), "register " + name)
        super().__init__(name, tid.value)

    def __call__(self, *args, access=(), node=None, priority=0, label=None, final=False, if0=False,
                 **kwargs):
        if _np is not None:
            args = [_ArrayRef(a) if isinstance(a, _np.ndarray) else a for a in args]
        data = pickle.dumps((args, kwargs), pickle.HIGHEST_PROTOCOL)
        buf = _LEN.pack(len(data)) + data
        arr, n = _accesses(access)
        _check(lib.dt_task_create(self.id, buf, len(buf), arr, n, _attr(node, priority, label, final, if0)),
               "dt_task_create " + self.name)


def _rank_or_zero():
    r = lib.dt_rank()
    return r if r > 0 else 0


def pytask(fn=None, *, name=None):
    """Registers a Python callable as a task type (usable as a decorator);
    the name defaults to module.qualname and must be the same on every rank."""
    if fn is None:
        return lambda f: pytask(f, name=name)
    return PyType(name or "%s.%s" % (fn.__module__, fn.__qualname__), fn)


# ---- common address space -----------------------------------------------------

def _alloc(fn, what, shape, dtype):
    if _np is None:
        raise DtaskError(ERRORS["DT_EINVAL"], "%s needs numpy; call dtask.lib.%s for raw memory" % (what, what))
    dt = _np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = int(_np.prod(shape, dtype=_np.int64)) * dt.itemsize
    p = fn(max(nbytes, 1))
    if not p:
        _check(lib.dt_num_workers(), what)  # not running: its code
        raise DtaskError(ERRORS["DT_ENOMEM"], "%s of %d bytes" % (what, nbytes))
    buf = (ctypes.c_char * max(nbytes, 1)).from_address(p)
    return _np.frombuffer(buf, dt, count=nbytes // dt.itemsize).reshape(shape)


def _base_addr(a):
    base = a
    while getattr(base, "base", None) is not None and isinstance(base.base, _np.ndarray):
        base = base.base
    return base.__array_interface__["data"][0]


def dmalloc(shape, dtype="float64"):
    """dt_dmalloc as a numpy array (distributed memory, same address on every
    rank).  The array views the runtime's memory: it is valid until dfree or
    finalize, after which touching it crashes; copy what must outlive it."""
    return _alloc(lib.dt_dmalloc, "dt_dmalloc", shape, dtype)


def lmalloc(shape, dtype="float64"):
    """dt_lmalloc as a numpy array (this rank's memory, reachable by offloaded
    tasks); valid until lfree or finalize, like dmalloc's."""
    return _alloc(lib.dt_lmalloc, "dt_lmalloc", shape, dtype)


def dfree(a):
    _check(lib.dt_dfree(_base_addr(a) if _np is not None and isinstance(a, _np.ndarray) else a), "dt_dfree")


def lfree(a):
    _check(lib.dt_lfree(_base_addr(a) if _np is not None and isinstance(a, _np.ndarray) else a), "dt_lfree")
