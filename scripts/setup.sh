#!/usr/bin/env bash
# Set-up shared by the README's two commands: a local virtual environment (.venv) with the project
# installed (with the test extras when asked), plus the few system libraries Qt needs when the
# machine lacks them (Debian/Ubuntu, installed with apt-get as root or through sudo).
# Usage: scripts/setup.sh [--test]   (the engine alone installs with `pip install .`; see README)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      PY=$c; break
    fi
  done
fi
if [ -z "$PY" ]; then
  echo "setup: Python 3.11 or newer is required (none found on PATH)" >&2
  exit 1
fi

# The README's commands install everything: the engine, the window ([gui]) and, for tests, [test].
testing=0
[ "${1:-}" = "--test" ] && testing=1
extras="[gui]"
[ "$testing" = 1 ] && extras="[gui,test]"

stamp=".venv/.installed${extras}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv || {
    echo "setup: 'python -m venv' failed; installing python3-venv" >&2
    rm -rf .venv
    apt_install python3-venv
    "$PY" -m venv .venv; }
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing the project${extras} into .venv (first time takes a minute)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras}"
  touch "$stamp"
fi

# Qt's shared libraries: install the Debian packages only when something is missing.
qt_dir=$(.venv/bin/python - <<'PY'
import os, PySide6
print(os.path.join(os.path.dirname(PySide6.__file__), "Qt"))
PY
)
missing=$(ldd "$qt_dir"/lib/libQt6Gui.so.6 "$qt_dir"/lib/libQt6Widgets.so.6 \
              "$qt_dir"/plugins/platforms/libqoffscreen.so "$qt_dir"/plugins/platforms/libqxcb.so \
              "$qt_dir"/lib/libQt6XcbQpa.so.6 2>/dev/null | grep "not found" | sort -u || true)
no_fonts=0
command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list 2>/dev/null | head -n1)" ] || no_fonts=1
if [ -n "$missing" ] || [ "$no_fonts" = 1 ]; then
  echo "setup: Qt needs system libraries:${missing:+ }$(echo "$missing" | awk '{print $1}' | tr '\n' ' ')"
  pkgs="libgl1 libegl1 libopengl0 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6 libxkbcommon0
        libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
        libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
        libxcb-xfixes0 libxrender1 libxi6 fontconfig fonts-dejavu-core"
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "setup: run as root or install these packages: $pkgs" >&2; exit 1
  fi
  if command -v apt-get >/dev/null 2>&1; then
    apt_install $pkgs
  else
    echo "setup: not a Debian/Ubuntu system; install the Qt 6 runtime libraries ($pkgs)" >&2
    exit 1
  fi
fi

# Headless Chromium for the tests that open the HTML reports (Debian's package; test set-up only).
if [ "$testing" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (the HTML report tests render reports in it, headless)"
  if command -v apt-get >/dev/null 2>&1; then
    apt_install chromium
  else
    echo "setup: not a Debian/Ubuntu system; install Chromium for the report tests" >&2
  fi
fi

# An X server for the GUI benchmark and interactive checks under the xcb platform
# (`xvfb-run ... benchmarks/bench_gui.py`, xdotool for real input; test set-up only: the tests run offscreen).
if [ "$testing" = 1 ] && { ! command -v xvfb-run >/dev/null 2>&1 || ! command -v xdotool >/dev/null 2>&1; }; then
  echo "setup: installing xvfb and xdotool (GUI benchmark and checks in a real X server)"
  if command -v apt-get >/dev/null 2>&1; then
    apt_install xvfb xauth xdotool
  else
    echo "setup: not a Debian/Ubuntu system; install Xvfb and xdotool for the GUI benchmark under xcb" >&2
  fi
fi
