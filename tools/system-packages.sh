#!/usr/bin/env bash
# Debian packages the test suite, the benchmarks and the demo run for real: PostgreSQL (second storage engine),
# wrk (the load generator of bench/) and Chromium (browser tests). Installs only what is missing, so a warm machine
# pays one dpkg query; a new machine runs apt-get once. Needs root (CI and the dev machines run as root).
set -euo pipefail

wanted=(postgresql wrk chromium)
missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "[signalcraft] installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
