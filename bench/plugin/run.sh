#!/bin/bash
# run.sh BUILD_DIR: the plugin benchmark (not a test). Builds what it needs
# in BUILD_DIR, then prints call overhead (ll_plugin_enter/call/leave vs a
# direct function pointer, rwlock and mutex) and reload latency (rename ->
# first call answered by the new version, 2 threads calling) and the rename
# storm (STORM renames ~1 ms apart: versions/s retired, peak descriptors,
# close time, against a naive dlopen/dlclose host).
set -euo pipefail
build=${1:?usage: bench/plugin/run.sh BUILD_DIR}
ninja -C "$build" bench/plugin/bench-plugin examples/plugin/greeter-v1.so examples/plugin/greeter-v3.so >/dev/null
exec "$build/bench/plugin/bench-plugin" "$build/examples/plugin" "${CALLS:-50000000}" "${RELOADS:-300}"
