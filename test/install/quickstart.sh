#!/bin/sh
# The README's quick start, run with stand-ins for apt-get, sudo and make:
# in a root shell without sudo it must call apt-get directly, for a user with
# sudo it must go through sudo, and it must install DEBIAN_PKGS of the
# Makefile (which .ci/run installs too).
# usage: test/install/quickstart.sh   (run from the top of the tree)
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-quickstart FAILED: $*"; exit 1; }
line=$(sed -n '/^## Quick start/,/^## /p' README.md | sed -n '/^```sh/{n;p;q}')
[ -n "$line" ] || fail "no sh block in the README's quick start"
pkgs=$(printf 'pp:\n\t@echo $(DEBIAN_PKGS)\n' | make -s -f Makefile -f - pp)
ci=$(sed -n '/apt-get install/,/^[^ ]/p' .ci/run | tr -s ' \\\n' ' ' | sed 's/.*-qq \(.*\) >.*/\1/;s/ *$//')
[ "$ci" = "$pkgs" ] || fail ".ci/run installs '$ci', the Makefile lists '$pkgs'"
mkdir "$tmp/bin"
for c in apt-get make; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/log"\n' "$c" "$tmp" > "$tmp/bin/$c"
done
printf '#!/bin/sh\necho "sudo" >> "%s/log"\nexec "$@"\n' "$tmp" > "$tmp/sudo"
chmod +x "$tmp/bin/"* "$tmp/sudo"
want="apt-get update
apt-get install -y $pkgs
make demo"
# a root shell on a fresh Debian: no sudo anywhere on PATH
PATH="$tmp/bin" /bin/sh -c "$line" || fail "the quick start fails without sudo"
[ "$(cat "$tmp/log")" = "$want" ] || fail "without sudo it ran: $(cat "$tmp/log")"
rm "$tmp/log"
mv "$tmp/sudo" "$tmp/bin/"
PATH="$tmp/bin" /bin/sh -c "$line" || fail "the quick start fails with sudo"
[ "$(grep -v '^sudo$' "$tmp/log")" = "$want" ] && [ "$(grep -c '^sudo$' "$tmp/log")" = 2 ] \
    || fail "with sudo it ran: $(cat "$tmp/log")"
echo "test-quickstart: the README quick start runs apt-get (with sudo when there is one) on the Makefile's packages"
