#!/usr/bin/env bash
# test/install/check_install.sh BUILD_DIR SOURCE_DIR [SANITIZE]
# Installs the build into a temporary prefix and builds an application with
# nothing but `cc app.c $(pkg-config --cflags --libs hookloop)`, against the
# shared and then the static library, and runs it.
set -euo pipefail
build=$1 src=$2 san=${3:-}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig:${PKG_CONFIG_PATH:-}"
flags=()
[[ -n $san ]] && flags=(-fsanitize="$san")
cc "${flags[@]}" "$src/test/install/app.c" $(pkg-config --cflags --libs hookloop) -o "$prefix/app"
libdir=$(pkg-config --variable=libdir hookloop)
out=$(LD_LIBRARY_PATH="$libdir" "$prefix/app")
[[ $out == "ok 2" ]] || { echo "shared: unexpected output: $out"; exit 1; }
cc "${flags[@]}" "$src/test/install/app.c" $(pkg-config --cflags hookloop) "$libdir/libhookloop.a" \
  $(pkg-config --libs libuv) -lpthread -o "$prefix/app-static"
out=$("$prefix/app-static")
[[ $out == "ok 2" ]] || { echo "static: unexpected output: $out"; exit 1; }
echo "1 passed, 0 failed"
