#!/usr/bin/env bash
# Regenerate the README's screenshots offscreen with the scripted mode (about three minutes).
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
.venv/bin/python scripts/screenshot_orders_panel.py "$out/orders_panel.png" && rm -f "$out/orders_panel_panel.png"
.venv/bin/python scripts/screenshot_step_back.py "$out/step_back.png" && rm -f "$out/step_back_drag.png"
.venv/bin/python scripts/screenshot_hand_trading.py "$out/hand_trading.png" 1600x1000
.venv/bin/python scripts/screenshot_import_dialog.py "$out/import_dialog.png"
.venv/bin/workstation-gui --live session_configs/example_live_replay.json --quit-when-done --size 1400x900 \
  --screenshot "$out/live_monitor.png"
sweep=runs/sweep_example
rm -rf "$sweep"
.venv/bin/workstation sweep session_configs/example_session.json --out "$sweep" --workers 2 \
  --param strategies.sma_5_20.params.fast=3,5,8,10 --param strategies.sma_5_20.params.slow=15:40:5 \
  --constraint "fast < slow" --param risk.min_quality_pct=90,99 >/dev/null
.venv/bin/python scripts/screenshot_sweep_window.py "$sweep" "$out/sweep_window.png" --size 1600x1000 --tab Heatmap
rm -f "$ini" "$ini2"
echo "screenshots written to $out/"
