#!/usr/bin/env bash
# wrapper.sh: how scripts/test-sanitizers runs each test (meson test --wrapper).
# GStreamer loads plugins in the test process instead of its plugin scanner
# (an uninstrumented program could not load the instrumented plugin) and keeps
# a registry of its own for the sanitizer build.
export GST_REGISTRY_FORK=no
export GST_REGISTRY="${SIBVAD_SANITIZER_BUILD:-/tmp}/gst-registry-asan.bin"
exec "$@"
