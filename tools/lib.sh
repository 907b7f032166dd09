# SPDX-License-Identifier: MIT
# Shared by tools/demo and tools/check: dependencies from debian/control, builds.
# shellcheck shell=bash

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

as_root() {
        if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Build-Depends in debian/control is the one list; install it when anything is missing.
ensure_build_deps() {
        if command -v dpkg-checkbuilddeps >/dev/null 2>&1 &&
           (cd "$top" && dpkg-checkbuilddeps >/dev/null 2>&1); then
                return 0
        fi
        echo "==> installing build dependencies from debian/control"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        as_root env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q "$top" >/dev/null
        (cd "$top" && dpkg-checkbuilddeps)
}

# build DIR [configure args...]: configure (once) and build out of tree.
build_tree() {
        local dir=$1
        shift
        if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
                (cd "$top" && autoreconf -fi >/dev/null 2>&1) || (cd "$top" && autoreconf -fi)
        fi
        mkdir -p "$dir"
        if [ ! -f "$dir/Makefile" ] || [ "$dir/config.status" -ot "$top/configure" ]; then
                (cd "$dir" && "$top/configure" -q "$@")
        fi
        make -C "$dir" -j"$(nproc)" -s
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
        local p
        for _ in $(seq 1 200); do
                p=$((20000 + RANDOM % 40000))
                if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
                        echo "$p"
                        return 0
                fi
        done
        return 1
}

# wait_port PORT SECONDS: until something accepts on 127.0.0.1:PORT.
wait_port() {
        local end=$((SECONDS + $2))
        while [ $SECONDS -lt "$end" ]; do
                (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}
