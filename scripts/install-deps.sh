#!/usr/bin/env bash
# Installs the Debian 12 packages Tenbin builds and tests with. Safe to run again: it only
# calls apt-get when something is missing. Needs root (or sudo) on a fresh machine.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-context1.81-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libpcre2-dev libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  prometheus chromium
)

command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian's prometheus package starts a system-wide service where systemd runs; the tests start
# their own on loopback, so keep the packaged one off.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  "${sudo_cmd[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
