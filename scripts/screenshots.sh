#!/usr/bin/env bash
# Regenerate the README's screenshots offscreen with the scripted mode (about two minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
out=docs/screenshots
ini=$(mktemp -u --suffix=.ini)      # fresh window settings for each shot
ini2=$(mktemp -u --suffix=.ini)
.venv/bin/workstation demo-data --store data/store >/dev/null
.venv/bin/workstation-gui session_configs/example_session.json --speed 0 --quit-when-done --settings "$ini" \
  --size 1600x1000 --screenshot "$out/main_window.png" --screenshot-at 0.5
.venv/bin/workstation-gui session_configs/example_session.json --speed 0 --quit-when-done --settings "$ini2" \
  --size 1600x1000 --screenshot "$out/results_view.png"
.venv/bin/python scripts/screenshot_config_editor.py "$out/config_editor.png"
.venv/bin/python scripts/screenshot_chart_tools.py "$out/chart_tools.png"
.venv/bin/python scripts/screenshot_orders_panel.py "$out/orders_panel.png"
.venv/bin/workstation-gui --live session_configs/example_live_replay.json --quit-when-done --size 1400x900 \
  --screenshot "$out/live_monitor.png"
rm -f "$ini" "$ini2"
echo "screenshots written to $out/"
