"""Loading libdtask.so and declaring its C API for ctypes (internal)."""
import ctypes
import ctypes.util
import os
from ctypes import CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_size_t, c_uint, c_void_p

# include/dtask.h: error codes (test_binding.py checks them against the header)
ERRORS = {
    "DT_OK": 0, "DT_EINVAL": -1, "DT_ENOMEM": -2, "DT_ENOTINIT": -3, "DT_EFINALIZED": -4,
    "DT_ETYPE": -5, "DT_EMODE": -6, "DT_EFAULT": -7, "DT_EOVERFLOW": -8, "DT_ERANGE": -9,
    "DT_EEXIST": -10, "DT_EALREADY": -11, "DT_ECONFIG": -12, "DT_ESYS": -13, "DT_ELIMIT": -14,
    "DT_EREDUCTION": -15, "DT_ESIGNATURE": -16, "DT_ESYMBOL": -17, "DT_ETASKITER": -18,
}
ERROR_NAMES = {v: k for k, v in ERRORS.items()}

# access modes and flags
DT_IN, DT_OUT, DT_INOUT, DT_CONCURRENT, DT_COMMUTATIVE = 1, 2, 3, 4, 5
DT_WEAK = 0x100
DT_TASK_FINAL, DT_TASK_IF0 = 0x1, 0x2
DT_NODE_ANY = -1

# signature types, in the order of the enum in dtask.h
FFI_NAMES = ("VOID", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "INT", "UINT",
             "LONG", "ULONG", "SIZE", "FLOAT", "DOUBLE", "PTR")
FFI = {n: i for i, n in enumerate(FFI_NAMES)}
FFI_MAX_ARGS = 32


class dt_access_t(Structure):
    _fields_ = [("mode", c_uint), ("addr", c_void_p), ("size", c_size_t), ("rows", c_size_t),
                ("stride", c_size_t)]


class dt_task_attr_t(Structure):
    _fields_ = [("priority", c_int), ("node", c_int), ("label", c_char_p), ("flags", c_uint)]


TASK_FN = CFUNCTYPE(None, c_void_p)
APP_FN = CFUNCTYPE(c_int, c_int, c_void_p)


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    # installed: <prefix>/lib/python3/dist-packages/dtask -> <prefix>/lib
    yield os.path.join(here, "..", "..", "..", "libdtask.so")
    # the build tree: python/dtask -> build/
    yield os.path.join(here, "..", "..", "build", "libdtask.so")


def find_library():
    """DTASK_LIBRARY, else next to the installed prefix, else the build tree,
    else the system's library path."""
    env = os.environ.get("DTASK_LIBRARY")
    if env:
        if not os.path.exists(env):
            raise ImportError("DTASK_LIBRARY=%s: no such file" % env)
        return env
    for c in _candidates():
        if os.path.exists(c):
            return os.path.realpath(c)
    found = ctypes.util.find_library("dtask")
    if found:
        return found
    raise ImportError("libdtask.so not found: build it (make), install it (make install), "
                      "or set DTASK_LIBRARY=/path/to/libdtask.so")


path = find_library()
# RTLD_GLOBAL: the libraries it brings (MPICH) are visible to what loads later
lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)


def _proto(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


_proto("dt_init", c_int, c_void_p, c_void_p)
_proto("dt_finalize", c_int)
_proto("dt_main", c_int, c_int, c_void_p, APP_FN)
_proto("dt_rank", c_int)
_proto("dt_num_ranks", c_int)
_proto("dt_num_workers", c_int)
_proto("dt_strerror", c_char_p, c_int)
_proto("dt_type_register", c_int, c_char_p, TASK_FN, POINTER(c_int))
_proto("dt_type_register_ffi", c_int, c_char_p, c_void_p, c_int, POINTER(c_int), c_size_t, POINTER(c_int))
_proto("dt_type_register_symbol", c_int, c_char_p, c_char_p, c_int, POINTER(c_int), c_size_t,
       POINTER(c_int))
_proto("dt_ffi_layout", c_int, POINTER(c_int), c_size_t, POINTER(c_size_t), POINTER(c_size_t))
_proto("dt_task_create", c_int, c_int, c_void_p, c_size_t, POINTER(dt_access_t), c_size_t,
       POINTER(dt_task_attr_t))
_proto("dt_taskwait", c_int)
_proto("dt_taskwait_on", c_int, POINTER(dt_access_t), c_size_t)
_proto("dt_dmalloc", c_void_p, c_size_t)
_proto("dt_dfree", c_int, c_void_p)
_proto("dt_lmalloc", c_void_p, c_size_t)
_proto("dt_lfree", c_int, c_void_p)
