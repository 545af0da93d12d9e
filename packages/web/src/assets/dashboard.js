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
      for (const mids of document.querySelectorAll('.mid-times')) {
        mids.dataset.durationMs = String(p.durationMs);
        checkMids(mids);
      }
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

// Episode transcript: a chosen file goes as the raw body of the API's PUT (validated there;
// its refusal is shown beside the form, in the creator's words); pasted text posts the form.
const transcriptForm = document.getElementById('transcript-form');
if (transcriptForm) {
  const input = document.getElementById('transcript-file');
  const status = document.getElementById('transcript-status');
  const say = (text, error) => {
    status.className = error ? 'error' : 'ok';
    status.setAttribute('role', error ? 'alert' : 'status');
    status.textContent = text;
    input.setAttribute('aria-invalid', error ? 'true' : 'false');
  };
  transcriptForm.addEventListener('submit', async (event) => {
    const chosen = input.files?.[0];
    if (!chosen) return;
    event.preventDefault();
    if (chosen.size > 2 * 1024 * 1024) {
      say(`${chosen.name} is ${(chosen.size / 1048576).toFixed(1)} MB; a transcript is at most 2 MB.`, true);
      return;
    }
    say(`Checking ${chosen.name}…`, false);
    const language = document.getElementById('transcript-language').value.trim() || 'en';
    const res = await fetch(
      `${transcriptForm.dataset.transcriptUrl}?language=${encodeURIComponent(language)}`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: chosen,
      },
    ).catch(() => null);
    if (res?.ok) {
      location.assign(`${location.pathname}?saved=transcript#transcript-h`);
      return;
    }
    const body = res ? await res.json().catch(() => ({})) : {};
    const why =
      body.error?.message ?? (res ? `the server answered ${res.status}` : 'the node cannot be reached');
    say(`${chosen.name} was not saved: ${why}.`, true);
  });
}

// Mid-roll times are checked as they are typed, in the creator's terms ("2:30 must be
// before 2:00, the end of the episode"); the server checks them again.
function parseTime(text) {
  const m = /^(?:(\d{1,2}):)?(?:(\d{1,3}):)?(\d{1,5}(?:\.\d{1,3})?)$/.exec(text.trim());
  if (!m) return null;
  const parts = [m[1], m[2]].filter((p) => p !== undefined).map(Number);
  const seconds = Number(m[3]);
  const [h, min] = parts.length === 2 ? parts : [0, parts[0] ?? 0];
  if (parts.length > 0 && seconds >= 60) return null;
  return Math.round((h * 3600 + min * 60 + seconds) * 1000);
}
function clock(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
function checkMids(input) {
  const length = Number(input.dataset.durationMs || 0);
  let problem = '';
  for (const t of input.value.split(/[,;\s]+/).filter(Boolean)) {
    const ms = parseTime(t);
    if (ms === null) problem = `"${t}" is not a time; write 90, 1:30 or 1:02:03`;
    else if (ms === 0) problem = 'a mid-roll at 0:00 is a pre-roll: pick a time after 0:00';
    else if (length && ms >= length)
      problem = `${clock(ms)} must be before ${clock(length)}, the end of the episode`;
    if (problem) break;
  }
  input.setCustomValidity(problem);
  input.setAttribute('aria-invalid', problem ? 'true' : 'false');
  let note = input.parentElement.querySelector('.mid-error');
  if (!note) {
    note = document.createElement('span');
    note.className = 'field-error mid-error';
    note.id = `mid-error-${Math.random().toString(36).slice(2)}`;
    note.setAttribute('aria-live', 'polite');
    input.after(note);
    input.setAttribute('aria-describedby', note.id);
  }
  note.textContent = problem;
  return !problem;
}
for (const mids of document.querySelectorAll('.mid-times')) {
  mids.addEventListener('input', () => checkMids(mids));
  mids.form?.addEventListener('submit', (event) => {
    if (!checkMids(mids)) {
      event.preventDefault();
      mids.focus();
    }
  });
}

// Deleting asks first: the form says what will be lost.
for (const f of document.querySelectorAll('form[data-confirm]')) {
  f.addEventListener('submit', (event) => {
    if (!window.confirm(f.dataset.confirm)) event.preventDefault();
  });
}
