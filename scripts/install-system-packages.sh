#!/usr/bin/env bash
# Debian packages the project needs, by purpose. One script for CI, the Dockerfile and people:
#   runtime  ffmpeg (decoding)
#   build    python3, make, g++ (node-gyp compiles whisper.cpp)
#   test     runtime + chromium (browser tests), nginx and redis-server (integration tests), sox
# Usage: scripts/install-system-packages.sh runtime|build|test ...
set -euo pipefail
declare -A PACKAGES=(
  [runtime]="ffmpeg ca-certificates"
  [build]="python3 make g++"
  [test]="ffmpeg chromium nginx redis-server sox xz-utils curl"
)
wanted=()
for profile in "$@"; do
  [[ -n "${PACKAGES[$profile]:-}" ]] || { echo "unknown profile: $profile (runtime, build, test)" >&2; exit 2; }
  wanted+=(${PACKAGES[$profile]})
done
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && { echo "system packages present: ${wanted[*]}"; exit 0; }
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
