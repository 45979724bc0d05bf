#!/usr/bin/env bash
# Regenerate the example maps of this folder from the bundled (fictional) example:
#   bash maps/regenerate.sh
# (needs the package installed, and Chromium for the screenshot: see tests/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ess-qpv map data/exemple/initiatives.csv -o maps/exemple-93.html --departement 93 \
  --self-contained --embed maps/exemple-93-iframe.html --print maps/exemple-93.pdf \
  --title "Exemple fictif – initiatives de l'ESS en Seine-Saint-Denis"
python -m tests.screenshot maps/exemple-93-autonome.html maps/exemple-93.png
