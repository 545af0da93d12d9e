#!/usr/bin/env bash
# Regenerates the demo episodes that `npm start` publishes on first run. Needs ffmpeg with
# libflite and libfreetype; the outputs are committed, so nobody else needs ffmpeg.
set -euo pipefail
cd "$(dirname "$0")"
say() { ffmpeg -loglevel error -y -f lavfi -i "flite=text='$1':voice=slt" -ar 22050 -ac 1 "$2"; }

say "Welcome to Swarmcast. This is the first demo episode. Every episode here travels over BitTorrent, with a plain web seed as the fallback that always works." part-a.wav
say "In this second part, we mark a place for an ad break. The creator chooses where breaks go, and the ad server fills them later." part-b.wav
ffmpeg -loglevel error -y -i part-a.wav -i part-b.wav -filter_complex "[0:a][1:a]concat=n=2:v=0:a=1[a]" -map "[a]" joined.wav
a_ms=$(ffprobe -v error -show_entries format=duration -of csv=p=0 part-a.wav | awk '{printf "%d", $1*1000}')
total_ms=$(ffprobe -v error -show_entries format=duration -of csv=p=0 joined.wav | awk '{printf "%d", $1*1000}')
cat > chapters.txt <<META
;FFMETADATA1
title=Welcome to Swarmcast
artist=Swarmcast demo
[CHAPTER]
TIMEBASE=1/1000
START=0
END=${a_ms}
title=Welcome
[CHAPTER]
TIMEBASE=1/1000
START=${a_ms}
END=${total_ms}
title=Ad breaks
META
ffmpeg -loglevel error -y -i joined.wav -i chapters.txt -map_metadata 1 -map_chapters 1 -c:a libmp3lame -b:a 32k -id3v2_version 3 welcome.mp3

say "Episode two. How the swarm works. Listeners who play an episode also share the pieces they have, so the more people listen, the faster it gets for everyone." swarm.wav
ffmpeg -loglevel error -y -i swarm.wav -c:a libmp3lame -b:a 32k -id3v2_version 3 -metadata title="How the swarm works" swarm.mp3

say "Episode three is a short video. Video episodes work the same way as audio, one file, one torrent, one web seed." video.wav
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 video.wav)
ffmpeg -loglevel error -y -f lavfi -i "mandelbrot=size=320x180:rate=10" -i video.wav -t "$dur" \
  -vf "drawtext=text='Swarmcast demo video':fontcolor=white:fontsize=22:box=1:boxcolor=black@0.5:x=(w-tw)/2:y=h-40" \
  -c:v libx264 -preset veryslow -crf 34 -pix_fmt yuv420p -c:a aac -b:a 32k -movflags +faststart video.mp4
# Show artwork: a 1400x1400 PNG (Apple's minimum size), nested squares in the portal's colours.
ffmpeg -loglevel error -f lavfi \
  -i "color=c=0x151a2d:s=1400x1400,drawbox=x=300:y=300:w=800:h=800:color=0x3848c8:t=fill,drawbox=x=550:y=550:w=300:h=300:color=0xf3a712:t=fill" \
  -frames:v 1 -y artwork.png
rm -f part-a.wav part-b.wav joined.wav swarm.wav video.wav chapters.txt
ls -l welcome.mp3 swarm.mp3 video.mp4 artwork.png
