// The page: talks to worker.js (which owns the model, so generation never blocks the UI) and shows
// load progress, streamed text and tokens/s. `?model=URL` picks the model, `&offline=1` uses the cache only.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
if (params.get('model')) $('model').value = params.get('model');
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let started = 0, pieces = 0, loaded = false;

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

worker.onmessage = ({ data: m }) => {
  if (m.type === 'progress') {
    $('progress').style.width = `${(100 * m.fraction).toFixed(1)}%`;
    setStatus('loading', m.text);
  } else if (m.type === 'loaded') {
    $('progress').style.width = '100%';
    setStatus('ready', `Loaded ${m.info.source}: ${(m.info.parameters / 1e3).toFixed(0)}K parameters, ${m.info.simd} SIMD, ${m.info.threads} thread(s)${crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}.`);
    $('load').disabled = false;
    $('generate').disabled = false;
    loaded = true;
  } else if (m.type === 'piece') {
    pieces++;
    $('output').textContent += m.text;
    const s = (performance.now() - started) / 1000;
    $('speed').textContent = `${(pieces / s).toFixed(0)} tokens/s`;
  } else if (m.type === 'done') {
    $('speed').textContent = `${m.result.ids.length} tokens, ${m.result.decodeTokS.toFixed(0)} tokens/s`;
    $('result').textContent = JSON.stringify(m.result);
    setStatus('done', `Finished (${m.result.finishReason}).`);
    $('generate').disabled = false;
    $('stop').disabled = true;
  } else if (m.type === 'error') {
    setStatus('error', m.message);
    $('load').disabled = false;
    $('generate').disabled = !loaded;
    $('stop').disabled = true;
  }
};

$('load-form').onsubmit = (e) => {
  e.preventDefault();
  $('load').disabled = true;
  $('generate').disabled = true;
  setStatus('loading', 'Loading…');
  // Relative paths resolve against the page; absolute URLs and hf: ids pass through.
  worker.postMessage({ type: 'load', model: new URL($('model').value, location.href).href, offline: params.get('offline') === '1' });
};

$('gen-form').onsubmit = (e) => {
  e.preventDefault();
  $('output').textContent = $('prompt').value;
  $('result').textContent = '';
  $('generate').disabled = true;
  $('stop').disabled = false;
  $('speed').textContent = '';
  pieces = 0;
  started = performance.now();
  setStatus('generating', 'Generating…');
  worker.postMessage({ type: 'generate', prompt: $('prompt').value,
    maxTokens: Number($('max-tokens').value), temperature: Number($('temperature').value) });
};

$('stop').onclick = () => worker.postMessage({ type: 'stop' });
