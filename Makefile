# libdtask - one Makefile.  `make` builds the libraries; see README.md.
#   make                 libdtask.so + libdtask.a in $(BUILD)
#   make test            the whole suite (unit, oracle, examples, bench-quick)
#   make test-sanitize   the suite under ASan+UBSan, then under TSan
#   make demo            the main demonstration, verified and timed
#   make bench           the benchmarks against peers (writes bench/RESULTS.md)
#   make install PREFIX=/usr/local
#   make check-deps      says which Debian packages are missing

PREFIX  ?= /usr/local
# the Python package (python/dtask); it finds libdtask.so in $(PREFIX)/lib
PYDIR   ?= $(PREFIX)/lib/python3/dist-packages
BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
DEVFLAGS ?= -Werror
CFLAGS  ?=
SAN     ?=
CFLAGS_ALL = -std=c11 $(OPT) -g -Wall -Wextra $(DEVFLAGS) -D_GNU_SOURCE -pthread \
             -fvisibility=hidden -Iinclude -Ilib $(SAN) $(CFLAGS)
PKGS     = hwloc mpich libffi
DEP_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEP_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS_ALL = $(DEP_LIBS) -pthread -lm -ldl

VERSION = 0.1.0
SOVER   = 0

# lib/ has one folder per concern (lib/README.md); headers are included by
# their folder, e.g. "core/task.h"
LIB_SRC  = $(wildcard lib/*/*.c)
LIB_OBJ  = $(patsubst lib/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB_HDR  = include/dtask.h $(wildcard lib/*/*.h)
LIBSO    = $(BUILD)/libdtask.so
LIBA     = $(BUILD)/libdtask.a
# programs inside the tree link the static library: no rpath games
LINK_DTASK = $(LIBA) $(LDLIBS_ALL)

.PHONY: all clean install uninstall test test-sanitize demo bench bench-quick check-deps
all: $(LIBSO) $(LIBA)

$(BUILD)/obj/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(DEP_CFLAGS) -fPIC -c $< -o $@

$(LIBSO): $(LIB_OBJ)
	$(CC) $(SAN) -shared -Wl,-soname,libdtask.so.$(SOVER) -o $@.$(VERSION) $^ $(LDLIBS_ALL)
	ln -sf libdtask.so.$(VERSION) $@.$(SOVER)
	ln -sf libdtask.so.$(VERSION) $@

$(LIBA): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

include test/test.mk
include examples/examples.mk
include bench/bench.mk

# dtask.pc names PREFIX, so it is written at every install: a file made once
# would keep pointing at the first PREFIX installed to.
install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 644 include/dtask.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(LIBSO).$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libdtask.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libdtask.so.$(SOVER)
	ln -sf libdtask.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libdtask.so
	install -m 644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: dtask' 'Description: distributed task library with region dependencies' \
	  'Version: $(VERSION)' 'Requires.private: $(PKGS)' \
	  'Cflags: -I$${includedir} -pthread' 'Libs: -L$${libdir} -ldtask' \
	  'Libs.private: -pthread -lm -ldl' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/dtask.pc
	chmod 644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/dtask.pc
	install -m 644 man/man3/*.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	install -m 644 man/man7/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -d $(DESTDIR)$(PYDIR)/dtask
	install -m 644 python/dtask/*.py $(DESTDIR)$(PYDIR)/dtask/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/dtask.h $(DESTDIR)$(PREFIX)/lib/libdtask.* \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/dtask.pc
	for f in man/man3/*.3; do rm -f $(DESTDIR)$(PREFIX)/share/man/man3/$${f##*/}; done
	rm -f $(DESTDIR)$(PREFIX)/share/man/man7/dtask.7
	rm -rf $(DESTDIR)$(PYDIR)/dtask

# Everything `make demo`, `make test` and `make bench` need (README and .ci/run
# list the same packages).  StarPU, Open MPI and gnuplot serve the benchmarks'
# peers and picture; clang builds the fuzzer; OpenBLAS, numpy and pytest serve
# the Python binding's example and tests.
DEBIAN_PKGS = build-essential pkg-config libhwloc-dev hwloc libffi-dev check libsubunit-dev \
              mpich libmpich-dev clang libclang-rt-14-dev valgrind libstarpu-dev openmpi-bin \
              libopenmpi-dev gnuplot-nox libopenblas-dev python3-numpy python3-pytest
check-deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "missing Debian packages:$$missing"; \
	  echo "install with: apt-get install -y$$missing"; exit 1; \
	else echo "all build dependencies present"; fi

clean:
	rm -rf build
