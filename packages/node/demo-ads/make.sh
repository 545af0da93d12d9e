#!/bin/sh
# Remakes house-ad.mp3, the house creative a fresh node fills ad breaks with: the first
# 6 s of the catalog's demo episode, mono 22.05 kHz 32 kbit/s (~25 KB). Committed, so a
# node needs no ffmpeg. If you change it, update houseAdDurationMs in src/house-ads.ts.
set -eu
cd "$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -y -t 6 -i ../../catalog/demo-media/welcome.mp3 \
  -ac 1 -ar 22050 -b:a 32k house-ad.mp3
