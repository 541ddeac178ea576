#!/usr/bin/env bash
# What the tests need on a fresh Debian machine, as root: then `python3 -m pytest` runs them all.
# FluidSynth + the GM SoundFont and espeak-ng render the training corpus; liblo-tools (oscsend, oscdump)
# and lua5.4 drive the bridge and the REAPER scripts; ardour (Ardour 7: ardour7-lua, ardour7-export) runs
# the Ardour actions headless; libportaudio2 is sounddevice's PortAudio; jackd2 hosts the virtual MIDI
# port (no ALSA sequencer in CI); the libEGL/GL/xkbcommon/fontconfig/dbus libraries are what PyQt6's
# offscreen window needs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq fluidsynth fluid-soundfont-gm espeak-ng liblo-tools lua5.4 ardour libportaudio2 jackd2 \
    libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 >/dev/null
python3 -m pip install -q torch==2.13.0  # the local CPU wheel; an unpinned torch pulls CUDA packages
python3 -m pip install -q -e ".[test,cluster]"  # the package with its app, train and cluster (Ray) extras, and the test tools
# The authors' own code, the oracle for their original checkpoints (tests/oracle/), without its pins (numpy
# <= 1.23.5, librosa 0.9.2, gradio, ...): only what their model code imports. Their torchaudio import is
# served by tests/oracle/shims (no torchaudio wheel matches torch 2.13).
python3 -m pip install -q --no-deps audioldm==0.1.1 audioldm2==0.1.0 torchlibrosa==0.0.9 ftfy==6.3.1 \
    progressbar==2.5 einops==0.8.2
