#!/usr/bin/env bash
# Set up everything dejiru needs on a fresh Debian 12 machine, offline except for PyPI/Debian/npm.
# Idempotent: a second run only checks. Needs root (or sudo) the first time, for Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  chromium                                   # the browser Playwright drives (never `playwright install`)
  poppler-utils                              # pdf2image
  fonts-noto-cjk fonts-ipafont-gothic fonts-ipafont-mincho   # Japanese screens and printed forms
  fonts-klee fonts-seto fonts-kiloji         # handwriting-style fonts for sample scans
  fonts-aoyagi-kouzan-t fonts-motoya-l-maruberi  # more sample fonts calibration may see (synth/splits.py TUNE)
  libgl1 libglib2.0-0                        # OpenCV
  postgresql                                 # tested for real by `make test`
  tzdata                                     # Asia/Tokyo for daily figures
  openssl                                    # certificates for `dejiru serve --cert` (and its test)
)
# Only for `make bench`: the tesseract-jpn baseline, and the fonts of the HOLDOUT split (synth/splits.py):
# never calibrated on, only measured.
if [ "${DEJIRU_SETUP_BENCH:-0}" = "1" ]; then
  APT_PACKAGES+=(tesseract-ocr tesseract-ocr-jpn)
  APT_PACKAGES+=(fonts-aoyagi-soseki fonts-kouzan-mouhitsu fonts-motoya-l-cedar fonts-morisawa-bizud-mincho)
fi
UV_VERSION="0.13.9"

step() { printf '\n== %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  step "Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
  step "uv $UV_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
UV="$(command -v uv || echo "$HOME/.local/bin/uv")"

step "Python environment (.venv from uv.lock)"
export UV_PYTHON_DOWNLOADS=never
"$UV" sync --frozen --python python3.11 --quiet

step "Offline self-check (OCR models, fonts, Chromium)"
.venv/bin/python -m dejiru.doctor
