"""A libtorrent 2.0 peer for the interop tests (Debian python3-libtorrent).

Usage: lt-peer.py '<json>' with keys
  torrent: path of a .torrent, or magnet: a magnet link (one of the two)
  save: folder the data is in (seed) or goes to (download)
  peers: [[host, port], ...] to dial
  seed: true to seed (data must be in `save`), false to download
  seconds: give up after this long (default 120)
  encryption: "require" forces MSE/PE with RC4 both ways (default: plain out, either in)
Prints one JSON object per line: {"port": N} once listening, {"progress": ..} now and then,
{"done": true} when a download completes (then keeps seeding until stdin closes or killed),
{"error": "..."} on a torrent error.
"""
import json
import select
import sys
import time

import libtorrent as lt

cfg = json.loads(sys.argv[1])
settings = {
    'listen_interfaces': '127.0.0.1:0',
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    'enable_incoming_utp': False,
    'enable_outgoing_utp': False,
    # Loopback peers share one address (see INTEROP.md, qBittorrent's MultiConnectionsPerIp).
    'allow_multiple_connections_per_ip': True,
    'out_enc_policy': lt.enc_policy.disabled,
    'in_enc_policy': lt.enc_policy.enabled,
    'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
}
if cfg.get('encryption') == 'require':
    settings['out_enc_policy'] = lt.enc_policy.forced
    settings['in_enc_policy'] = lt.enc_policy.forced
    settings['allowed_enc_level'] = lt.enc_level.rc4
ses = lt.session(settings)


def say(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


if 'magnet' in cfg:
    params = lt.parse_magnet_uri(cfg['magnet'])
else:
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(cfg['torrent'])
params.save_path = cfg['save']
h = ses.add_torrent(params)

for _ in range(200):
    if ses.is_listening() and ses.listen_port():
        break
    time.sleep(0.01)
say({'port': ses.listen_port()})

deadline = time.time() + cfg.get('seconds', 120)
dialed = False
done_said = False
last = 0.0
while time.time() < deadline:
    for a in ses.pop_alerts():
        if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
            say({'error': a.message()})
    st = h.status()
    if not dialed and st.state not in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data):
        for host, port in cfg.get('peers', []):
            h.connect_peer((host, int(port)))
        dialed = True
    if not cfg.get('seed') and not done_said and st.is_seeding:
        say({'done': True, 'downloaded': st.total_payload_download})
        done_said = True
    now = time.time()
    if now - last > 1:
        last = now
        say({'progress': st.progress, 'state': str(st.state), 'peers': st.num_peers,
             'uploaded': st.total_payload_upload, 'has_metadata': st.has_metadata})
    # Stop when the test closes our stdin.
    r, _, _ = select.select([sys.stdin], [], [], 0.05)
    if r and not sys.stdin.read(1):
        break
