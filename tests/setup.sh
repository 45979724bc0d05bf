#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine, then the package with its test extras.
# System packages: Debian's Chromium (browser tests, never a downloaded browser), Redis
# (the local addok geocoder), poppler (pdffonts, pdftotext: print checks) and Node.js/npm for
# the accessibility checkers (axe-core, HTML_CodeSniffer) that the browser tests inject.
# addok itself goes into its own virtualenv (its pins clash with ours).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
command -v pdffonts >/dev/null || need+=(poppler-utils)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
python -m pip install -q -e ".[test]"
# addok, the engine of the national address service, for the geocoding tests.
if [ ! -x .addok-venv/bin/addok ]; then
  python -m venv .addok-venv
  .addok-venv/bin/pip install -q addok==1.3.2 addok-fr==1.1.0 addok-france==1.2.0 \
    addok-csv==1.1.0 addok-sqlite-store gunicorn
fi
# The accessibility checkers, at the versions of tests/js/package-lock.json.
(cd tests/js && npm ci --no-audit --no-fund --silent)
