// Dashboard upload: sends the file as the raw request body (no multipart) so the server can
// stream it to disk, shows progress, then reveals the publish form with what the probe found.
const form = document.getElementById('upload-form');
if (form) {
  const file = document.getElementById('media-file');
  const bar = document.getElementById('upload-progress');
  const status = document.getElementById('upload-status');
  const button = document.getElementById('upload-button');
  const publish = document.getElementById('publish-form');
  const fmt = (ms) => {
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.dataset.uploadUrl);
    xhr.setRequestHeader('content-type', chosen.type || 'application/octet-stream');
    xhr.setRequestHeader('x-file-name', encodeURIComponent(chosen.name));
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    status.className = '';
    status.textContent = `Uploading ${chosen.name}…`;
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = `Uploading ${chosen.name}: ${bar.value}%`;
    });
    xhr.addEventListener('load', () => {
      button.disabled = false;
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      if (xhr.status !== 201 || !body) {
        status.className = 'error';
        status.textContent = body?.error?.message ?? `Upload failed (HTTP ${xhr.status})`;
        return;
      }
      bar.value = 100;
      const p = body.probe;
      status.className = 'ok';
      status.textContent = `Uploaded: ${p.mediaKind}, ${fmt(p.durationMs)}, ${p.codecs.join(', ')}${p.fastStart === false ? ' (not fast-start: playback waits for the whole file)' : ''}. Now give it a title and publish.`;
      document.getElementById('upload-id').value = body.id;
      const title = document.getElementById('episode-title');
      if (!title.value) title.value = chosen.name.replace(/\.[^.]+$/, '');
      const chapters = document.getElementById('chapter-breaks');
      chapters.replaceChildren();
      if (p.chapters.length) {
        const hint = document.createElement('p');
        hint.className = 'hint';
        hint.textContent = 'Or at the start of a chapter:';
        chapters.append(hint);
        p.chapters.forEach((c, i) => {
          const label = document.createElement('label');
          const box = document.createElement('input');
          box.type = 'checkbox';
          box.name = 'chapter';
          box.value = String(i);
          box.disabled = c.startMs === 0;
          label.append(box, ` ${fmt(c.startMs)} ${c.title}`);
          chapters.append(label);
        });
      }
      publish.hidden = false;
      title.focus();
    });
    xhr.addEventListener('error', () => {
      button.disabled = false;
      status.className = 'error';
      status.textContent = 'The upload broke off; try again.';
    });
    xhr.send(chosen);
  });
}

// Show artwork: the image as the raw body of a PUT; the page reloads to show it.
const art = document.getElementById('artwork-form');
if (art) {
  art.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = document.getElementById('artwork-file').files?.[0];
    const status = document.getElementById('artwork-status');
    if (!chosen) return;
    status.className = '';
    status.textContent = 'Uploading artwork…';
    const res = await fetch(art.dataset.artworkUrl, {
      method: 'PUT',
      headers: { 'content-type': chosen.type || 'application/octet-stream' },
      body: chosen,
    });
    if (res.ok) {
      location.reload();
      return;
    }
    const body = await res.json().catch(() => ({}));
    status.className = 'error';
    status.textContent = body.error?.message ?? `Upload failed (${res.status})`;
  });
}
