#!/usr/bin/env bash
# The project's install and build steps, run by both CI (.ci/run) and the image (Dockerfile),
# so a green CI run means the image's build steps work. Steps, in the order given:
#   deps   npm ci: every workspace's dependencies; the postinstall compiles whisper.cpp for
#          WHISPER_CPU (native unless set; the Dockerfile sets x86-64-v3)
#   app    npm run build: the browser client into client/build
#   prune  drop dev dependencies (the image; CI keeps them to run the tests)
# Usage: scripts/build.sh deps app [prune]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -gt 0 ]] || { echo "usage: scripts/build.sh deps|app|prune ..." >&2; exit 2; }
for step in "$@"; do
  case "$step" in
    # onnxruntime-node (Silero VAD) ships its CPU binaries; its install script would fetch CUDA ones.
    deps) ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund ;;
    app) npm run build ;;
    prune) npm prune --omit=dev --no-audit --no-fund ;;
    *) echo "unknown step: $step (deps, app, prune)" >&2; exit 2 ;;
  esac
done
