/**
 * The tearless demo page: pick a model, send one picture (file, drop, paste or webcam) to
 * `/v1/models/{name}/detect?conf=0.01` and show the boxes; the confidence slider re-filters the
 * received detections locally. Talks to the server with the project's own client SDK.
 */
import {
  ConnectionError, TearlessClient, TearlessHttpError, UnauthorizedError,
} from '../../src/client/index.js';
import type { DetectResponse, ModelSummary } from '../../src/client/index.js';
import { drawScene } from './draw.js';
import { classColour } from './palette.js';

/** Detections are requested down to this score once; the slider filters above it. */
const REQUEST_CONF = 0.01;
const KEY_STORAGE = 'tearless.apiKey';
const MODEL_STORAGE = 'tearless.model';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

const ui = {
  model: byId<HTMLSelectElement>('model'),
  modelInfo: byId<HTMLSpanElement>('model-info'),
  auth: byId<HTMLFormElement>('auth'),
  authMessage: byId<HTMLParagraphElement>('auth-message'),
  apiKey: byId<HTMLInputElement>('api-key'),
  forgetKey: byId<HTMLButtonElement>('forget-key'),
  error: byId<HTMLDivElement>('error'),
  stage: byId<HTMLElement>('stage'),
  file: byId<HTMLInputElement>('file'),
  webcam: byId<HTMLButtonElement>('webcam'),
  camera: byId<HTMLDivElement>('camera'),
  video: byId<HTMLVideoElement>('video'),
  capture: byId<HTMLButtonElement>('capture'),
  cameraCancel: byId<HTMLButtonElement>('camera-cancel'),
  placeholder: byId<HTMLDivElement>('placeholder'),
  canvas: byId<HTMLCanvasElement>('canvas'),
  busy: byId<HTMLDivElement>('busy'),
  note: byId<HTMLParagraphElement>('note'),
  conf: byId<HTMLInputElement>('conf'),
  confValue: byId<HTMLOutputElement>('conf-value'),
  summary: byId<HTMLSpanElement>('summary'),
  counts: byId<HTMLUListElement>('counts'),
  latency: byId<HTMLDivElement>('latency'),
};

// ---- storage (may be unavailable: private modes, sandboxed frames) ----

function load(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // not persisted; the page still works for this visit
  }
}

const client = new TearlessClient({ baseUrl: '', apiKey: load(KEY_STORAGE) ?? undefined, timeoutMs: 60_000 });

// ---- state ----

interface Result {
  response: DetectResponse;
  bitmap: ImageBitmap | null;
  roundTripMs: number;
}

let models: ModelSummary[] = [];
let lastImage: Blob | null = null;
let bitmap: ImageBitmap | null = null;
let result: Result | null = null;
let inflight: AbortController | null = null;
let cameraStream: MediaStream | null = null;

// ---- messages ----

function showError(err: unknown): void {
  ui.error.replaceChildren();
  if (err === null) {
    ui.error.hidden = true;
    return;
  }
  const message = document.createElement('span');
  const code = document.createElement('code');
  if (err instanceof ConnectionError) {
    message.textContent = 'Cannot reach the tearless server. Is it still running?';
  } else if (err instanceof TearlessHttpError) {
    message.textContent = err.message;
    code.textContent = err.status > 0 ? `${err.code} · HTTP ${err.status}` : err.code;
  } else if (err instanceof Error) {
    message.textContent = err.message;
  } else {
    message.textContent = String(err);
  }
  ui.error.append(message);
  if (code.textContent !== '') ui.error.append(' ', code);
  ui.error.hidden = false;
}

function showAuth(err: UnauthorizedError): void {
  const stored = load(KEY_STORAGE) !== null;
  ui.authMessage.textContent = stored
    ? `The stored API key was refused (${err.message}). Enter another key.`
    : 'This server needs an API key. It is kept in this browser (localStorage) for next time.';
  ui.forgetKey.hidden = !stored;
  ui.auth.hidden = false;
  ui.apiKey.focus();
}

function setNote(text: string | null): void {
  ui.note.textContent = text ?? '';
  ui.note.hidden = text === null;
}

// ---- models ----

function describeModel(m: ModelSummary): string {
  const parts: string[] = [];
  const p = m.profile;
  if (p !== undefined) {
    parts.push(p.family);
    if (Array.isArray(p.inputSize) && p.inputSize.length >= 2) parts.push(`${p.inputSize[0]}×${p.inputSize[1]}`);
    parts.push(`${p.numClasses} ${p.numClasses === 1 ? 'class' : 'classes'}`);
  }
  if (m.version !== undefined && m.versions.length > 1) parts.push(`v${m.version}`);
  if (m.state !== 'ready') parts.push(m.state);
  return parts.join(' · ');
}

function selectedModel(): ModelSummary | undefined {
  return models.find((m) => m.name === ui.model.value);
}

async function loadModels(): Promise<void> {
  ui.model.disabled = true;
  try {
    models = await client.models();
  } catch (err) {
    ui.model.replaceChildren(new Option(err instanceof UnauthorizedError ? 'API key needed' : 'Models unavailable', ''));
    if (err instanceof UnauthorizedError) showAuth(err);
    else showError(err);
    return;
  }
  ui.auth.hidden = true;
  const stored = load(MODEL_STORAGE);
  ui.model.replaceChildren(...models.map((m) => {
    const option = new Option(m.state === 'ready' ? m.name : `${m.name} (${m.state})`, m.name);
    option.disabled = m.state === 'failed';
    return option;
  }));
  if (models.length === 0) {
    ui.model.replaceChildren(new Option('No models loaded', ''));
    showError(new Error('The server has no models. Start it with a model: tearless serve my_model.onnx'));
    return;
  }
  const preferred = models.find((m) => m.name === stored && m.state !== 'failed')
    ?? models.find((m) => m.default && m.state === 'ready')
    ?? models.find((m) => m.state === 'ready')
    ?? models[0];
  ui.model.value = preferred.name;
  ui.model.disabled = false;
  updateModelInfo();
  showError(null);
}

function updateModelInfo(): void {
  const m = selectedModel();
  ui.modelInfo.textContent = m !== undefined ? describeModel(m) : '';
}

// ---- detection ----

async function detect(image: Blob): Promise<void> {
  lastImage = image;
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  showError(null);
  setNote(null);
  result = null;
  setBusy(true);

  // Show the picture at once while the server works; decoding runs in parallel with the request.
  bitmap?.close();
  bitmap = null;
  const decoding = createImageBitmap(image, { imageOrientation: 'from-image' }).then(
    (bmp) => {
      if (controller.signal.aborted) {
        bmp.close();
        return null;
      }
      bitmap = bmp;
      if (result === null) render();
      return bmp;
    },
    () => null,
  );

  const model = ui.model.value !== '' ? ui.model.value : undefined;
  const started = performance.now();
  try {
    const response = await client.detect(image, { model, conf: REQUEST_CONF, signal: controller.signal });
    const roundTripMs = performance.now() - started;
    const bmp = await decoding;
    if (controller.signal.aborted) return;
    result = { response, bitmap: bmp, roundTripMs };
    if (bmp === null) setNote('This browser cannot display this image format: the boxes are drawn on a blank canvas of the same size.');
    render();
  } catch (err) {
    if (controller.signal.aborted) return;
    if (err instanceof UnauthorizedError) showAuth(err);
    else showError(err);
  } finally {
    if (inflight === controller) {
      inflight = null;
      setBusy(false);
      render();
    }
  }
}

function setBusy(busy: boolean): void {
  ui.busy.hidden = !busy;
  ui.stage.setAttribute('aria-busy', String(busy));
}

function threshold(): number {
  const v = Number(ui.conf.value);
  return Number.isFinite(v) ? v : 0.25;
}

function render(): void {
  const t = threshold();
  ui.confValue.textContent = t.toFixed(2);

  const response = result?.response;
  const shownBitmap = result?.bitmap ?? bitmap;
  const visible = response?.detections.filter((d) => d.score >= t) ?? [];

  if (shownBitmap !== null || response !== undefined) {
    ui.placeholder.hidden = true;
    ui.canvas.hidden = false;
    drawScene(ui.canvas, {
      bitmap: shownBitmap,
      width: response?.width ?? shownBitmap?.width ?? 1,
      height: response?.height ?? shownBitmap?.height ?? 1,
      detections: visible,
    });
  } else {
    ui.canvas.hidden = true;
    ui.placeholder.hidden = false;
  }

  // Per-class counts, most frequent first.
  const counts = new Map<string, { classId: number; n: number }>();
  for (const d of visible) {
    const c = counts.get(d.label);
    if (c) c.n++;
    else counts.set(d.label, { classId: d.classId, n: 1 });
  }
  const rows = [...counts.entries()].sort((a, b) => b[1].n - a[1].n || a[0].localeCompare(b[0]));
  if (response === undefined) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = lastImage === null ? 'No image yet.' : inflight !== null ? 'Waiting for the server…' : 'No result.';
    ui.counts.replaceChildren(li);
    ui.summary.textContent = '';
  } else if (rows.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = `Nothing at or above ${t.toFixed(2)}.`;
    ui.counts.replaceChildren(li);
  } else {
    ui.counts.replaceChildren(...rows.map(([label, { classId, n }]) => {
      const li = document.createElement('li');
      li.dataset.label = label;
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = classColour(classId);
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = label;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = String(n);
      li.append(swatch, name, count);
      return li;
    }));
  }
  if (response !== undefined) {
    ui.summary.textContent = `${visible.length} of ${response.detections.length}`;
    ui.summary.title = `${visible.length} detections at or above ${t.toFixed(2)}, of ${response.detections.length} received (score ≥ ${REQUEST_CONF})`;
    const described = rows.map(([label, { n }]) => `${n} ${label}`).join(', ');
    ui.canvas.setAttribute('aria-label', `Image ${response.width}×${response.height} with ${visible.length} detections${described ? `: ${described}` : ''}`);
  }

  renderLatency();
}

function renderLatency(): void {
  if (result === null) {
    ui.latency.textContent = inflight !== null ? 'Measuring…' : '—';
    return;
  }
  const { timings, model, version } = result.response;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const ms = (v: number | undefined): string => (finite(v) ? `${v.toFixed(1)} ms` : '–');
  const stages: [string, number | undefined][] = [
    ['queue', timings?.queueMs], ['decode', timings?.decodeMs], ['preprocess', timings?.preprocessMs],
    ['inference', timings?.inferMs], ['postprocess', timings?.postprocessMs],
  ];
  const server = stages.reduce((sum, [, v]) => sum + (finite(v) ? v : 0), 0);

  const main = document.createElement('p');
  main.className = 'latency-main';
  const rt = document.createElement('strong');
  rt.textContent = `${Math.round(result.roundTripMs)} ms`;
  main.append('Round trip ', rt);

  const table = document.createElement('dl');
  table.className = 'timings';
  const row = (name: string, value: string, cls?: string): void => {
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    dd.textContent = value;
    if (cls !== undefined) {
      dt.className = cls;
      dd.className = cls;
    }
    table.append(dt, dd);
  };
  row('server', ms(server), 'total');
  for (const [name, v] of stages) row(name, ms(v));
  row('network + browser', ms(Math.max(0, result.roundTripMs - server)), 'total');

  const meta = document.createElement('p');
  meta.className = 'latency-meta';
  meta.textContent = `${model}${version ? ` v${version}` : ''} · ${result.response.width}×${result.response.height}`;
  ui.latency.replaceChildren(main, table, meta);
}

// ---- inputs ----

function firstImage(files: FileList | null | undefined): File | null {
  if (!files || files.length === 0) return null;
  return [...files].find((f) => f.type.startsWith('image/')) ?? files[0];
}

ui.file.addEventListener('change', () => {
  const file = firstImage(ui.file.files);
  if (file) void detect(file);
  ui.file.value = ''; // choosing the same file again still fires `change`
});

let dragDepth = 0;
ui.stage.addEventListener('dragenter', (e) => {
  e.preventDefault();
  dragDepth++;
  ui.stage.classList.add('dragging');
});
ui.stage.addEventListener('dragover', (e) => {
  e.preventDefault();
  if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
});
ui.stage.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) ui.stage.classList.remove('dragging');
});
ui.stage.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  ui.stage.classList.remove('dragging');
  const file = firstImage(e.dataTransfer?.files);
  if (file) void detect(file);
  else showError(new Error('Drop an image file (JPEG, PNG, WebP…).'));
});
// A drop next to the stage must not navigate away from the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

window.addEventListener('paste', (e) => {
  const file = firstImage(e.clipboardData?.files);
  if (file) void detect(file);
});

ui.conf.addEventListener('input', render);

ui.model.addEventListener('change', () => {
  store(MODEL_STORAGE, ui.model.value);
  updateModelInfo();
  if (lastImage !== null) void detect(lastImage);
});

ui.auth.addEventListener('submit', (e) => {
  e.preventDefault();
  const key = ui.apiKey.value.trim();
  if (key === '') return;
  client.setApiKey(key);
  store(KEY_STORAGE, key);
  ui.apiKey.value = '';
  ui.auth.hidden = true;
  void loadModels().then(() => {
    if (lastImage !== null && ui.auth.hidden) void detect(lastImage);
  });
});

ui.forgetKey.addEventListener('click', () => {
  store(KEY_STORAGE, null);
  client.setApiKey(undefined);
  ui.forgetKey.hidden = true;
  ui.authMessage.textContent = 'Stored key removed. This server needs an API key.';
});

// ---- webcam ----

const canUseCamera = typeof navigator.mediaDevices?.getUserMedia === 'function';
ui.webcam.hidden = !canUseCamera;

function stopCamera(): void {
  cameraStream?.getTracks().forEach((t) => t.stop());
  cameraStream = null;
  ui.video.srcObject = null;
  ui.camera.hidden = true;
  ui.webcam.disabled = false;
}

ui.webcam.addEventListener('click', async () => {
  showError(null);
  ui.webcam.disabled = true;
  try {
    cameraStream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch (err) {
    ui.webcam.disabled = false;
    const name = err instanceof DOMException ? err.name : '';
    showError(new Error(name === 'NotAllowedError'
      ? 'Camera access was refused. Allow it in the browser to take a snapshot.'
      : name === 'NotFoundError' ? 'No camera found.' : `Camera unavailable: ${err instanceof Error ? err.message : String(err)}`));
    return;
  }
  ui.video.srcObject = cameraStream;
  ui.camera.hidden = false;
  await ui.video.play().catch(() => undefined);
  ui.capture.focus();
});

ui.capture.addEventListener('click', () => {
  const w = ui.video.videoWidth;
  const h = ui.video.videoHeight;
  if (w === 0 || h === 0) return;
  const snap = document.createElement('canvas');
  snap.width = w;
  snap.height = h;
  snap.getContext('2d')?.drawImage(ui.video, 0, 0, w, h);
  stopCamera();
  snap.toBlob((blob) => {
    if (blob) void detect(blob);
    else showError(new Error('Could not capture a snapshot from the camera.'));
  }, 'image/jpeg', 0.92);
});

ui.cameraCancel.addEventListener('click', stopCamera);

// Keep lines and labels the same size on screen when the layout changes.
if (typeof ResizeObserver === 'function') {
  let last = 0;
  new ResizeObserver((entries) => {
    const width = entries[0]?.contentRect.width ?? 0;
    if (Math.abs(width - last) >= 1 && !ui.canvas.hidden) {
      last = width;
      render();
    }
  }).observe(ui.canvas);
}

render();
void loadModels();
