#!/bin/sh
# make install to two prefixes in turn: the second copy's dtask.pc must point
# at the second prefix, and a program built with pkg-config against it must
# build and run once the first copy is gone.
# usage: test/install/install.sh BUILD-DIR   (run from the top of the tree)
set -eu
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-install FAILED: $*"; exit 1; }
make -s BUILD="$build" install PREFIX="$tmp/a" >/dev/null
make -s BUILD="$build" install PREFIX="$tmp/b" >/dev/null
for p in a b; do
    got=$(PKG_CONFIG_PATH="$tmp/$p/lib/pkgconfig" pkg-config --variable=prefix dtask)
    [ "$got" = "$tmp/$p" ] || fail "dtask.pc of PREFIX=$tmp/$p names prefix '$got'"
done
rm -rf "$tmp/a"
cat > "$tmp/t.c" <<'C'
#include <dtask.h>
#include <stdio.h>
static void inc(void *args) { ++**(int **)args; }
int main(int argc, char **argv)
{
    dt_type_t t;
    int x = 0, *px = &x;
    dt_access_t a = { DT_INOUT, &x, sizeof x, 0, 0 };
    if (dt_type_register("inc", inc, &t) || dt_init(&argc, &argv)) return 1;
    for (int i = 0; i < 10; i++)
        if (dt_task_create(t, &px, sizeof px, &a, 1, NULL)) return 1;
    if (dt_finalize()) return 1;
    printf("%d\n", x);
    return x != 10;
}
C
export PKG_CONFIG_PATH="$tmp/b/lib/pkgconfig"
cc -std=c11 "$tmp/t.c" -o "$tmp/t" $(pkg-config --cflags --libs dtask) -Wl,-rpath,"$tmp/b/lib" \
    || fail "a program does not build against the copy in PREFIX=$tmp/b"
out=$(DT_NUM_WORKERS=2 timeout 60 "$tmp/t") || fail "the program built against PREFIX=$tmp/b failed"
[ "$out" = 10 ] || fail "the program printed '$out', not 10"
echo "test-install: dtask.pc follows PREFIX; a program built with pkg-config against the installed copy runs"
