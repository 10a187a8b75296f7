/**
 * `TearlessClient`: a typed, fetch-based client for a tearless server. Isomorphic: it uses only
 * fetch, AbortController, Blob, TextEncoder/TextDecoder and typed arrays, so it runs in Node 20+,
 * browsers, Deno, Bun and workers alike.
 */
import { ConnectionError, TimeoutError, errorFromResponse } from './errors.js';
import { decodeBinary, decodeJson, encodeBinary, encodeJson, isOipDatatype } from './tensors.js';
import type {
  AnnotatedImage, DetectOptions, DetectResponse, InferInput, InferOptions, InferOutput, InferResponse,
  ModelMetadata, ModelSummary, ServerMetadata,
} from './types.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface TearlessClientOptions {
  /** Server root, e.g. `http://127.0.0.1:8080` (in a browser `''` means the page's origin). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** A fetch implementation (default: the global fetch). */
  fetch?: FetchLike;
  /** Per-request timeout covering the whole answer, in ms (default 30000; 0 = none). */
  timeoutMs?: number;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

/** An image as the client accepts it: a Blob/File, or encoded bytes. */
export type ImageBody = Blob | ArrayBuffer | Uint8Array;

interface SendInit {
  method?: 'GET' | 'POST';
  query?: Record<string, string | number | undefined>;
  body?: NonNullable<RequestInit['body']>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

interface Answer {
  response: Response;
  bytes: Uint8Array;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const enc = encodeURIComponent;

/** Bytes backed by a plain ArrayBuffer (fetch and Blob refuse SharedArrayBuffer views). */
function plainBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** Content type from the first bytes of an encoded image (the server sniffs too; this is for logs and proxies). */
export function sniffImageType(b: Uint8Array): string {
  const ascii = (from: number, to: number): string => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (b.length >= 6 && ascii(0, 4) === 'GIF8') return 'image/gif';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (b.length >= 4 && (ascii(0, 4) === 'II*\u0000' || ascii(0, 4) === 'MM\u0000*')) return 'image/tiff';
  if (b.length >= 12 && ascii(4, 8) === 'ftyp' && /^avi[fs]$/.test(ascii(8, 12))) return 'image/avif';
  return 'application/octet-stream';
}

function imageBody(image: ImageBody): { body: NonNullable<RequestInit['body']>; contentType: string } {
  if (typeof Blob !== 'undefined' && image instanceof Blob) {
    // A File's type comes from its name: only trust image types, let the server sniff the rest.
    return { body: image, contentType: /^image\//i.test(image.type) ? image.type : 'application/octet-stream' };
  }
  if (image instanceof ArrayBuffer) image = new Uint8Array(image);
  if (image instanceof Uint8Array) {
    const bytes = plainBytes(image);
    return { body: bytes, contentType: sniffImageType(bytes) };
  }
  throw new TypeError('detect() takes a Blob, an ArrayBuffer or a Uint8Array of encoded image bytes.');
}

function parseBody(bytes: Uint8Array, contentType: string | null): unknown {
  if (bytes.byteLength === 0) return undefined;
  const text = decoder.decode(bytes);
  if (contentType !== null && !/json/i.test(contentType) && !/^\s*[{[]/.test(text)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class TearlessClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  private apiKey: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly extraHeaders: Record<string, string>;

  constructor(options: TearlessClientOptions) {
    if (typeof options?.baseUrl !== 'string') throw new TypeError('TearlessClient needs { baseUrl }, e.g. "http://127.0.0.1:8080".');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.extraHeaders = { ...options.headers };
    const f = options.fetch ?? (typeof fetch === 'function' ? fetch : undefined);
    if (f === undefined) throw new TypeError('No fetch implementation: pass { fetch } to TearlessClient.');
    // Call through a closure: browsers throw "Illegal invocation" when fetch is called unbound.
    this.fetchImpl = (input, init) => f(input, init);
  }

  /** Change (or clear) the API key used by later requests. */
  setApiKey(apiKey: string | undefined): void {
    this.apiKey = apiKey === '' ? undefined : apiKey;
  }

  // ---- image API ----

  /** Detect objects in an encoded image (`POST /v1/models/{model}/detect`, or `/v1/detect` for the default model). */
  async detect(image: ImageBody, opts: DetectOptions = {}): Promise<DetectResponse> {
    const { response, bytes } = await this.postImage(image, opts, 'json');
    return parseBody(bytes, response.headers.get('content-type')) as DetectResponse;
  }

  /** The annotated picture (boxes, labels, scores drawn server-side; JPEG): `format=image`. */
  async detectImage(image: ImageBody, opts: DetectOptions = {}): Promise<Uint8Array> {
    return (await this.detectImageWithType(image, opts)).bytes;
  }

  /** Like `detectImage`, with the content type the server answered with. */
  async detectImageWithType(image: ImageBody, opts: DetectOptions = {}): Promise<AnnotatedImage> {
    const { response, bytes } = await this.postImage(image, opts, 'image');
    return { bytes, contentType: response.headers.get('content-type') ?? 'application/octet-stream' };
  }

  private postImage(image: ImageBody, opts: DetectOptions, format: 'json' | 'image'): Promise<Answer> {
    const { body, contentType } = imageBody(image);
    let path = '/v1/detect';
    if (opts.model !== undefined) {
      path = `/v1/models/${enc(opts.model)}`;
      if (opts.version !== undefined) path += `/versions/${enc(opts.version)}`;
      path += '/detect';
    } else if (opts.version !== undefined) {
      throw new TypeError('detect(): a version needs a model name ({ model, version }).');
    }
    return this.send(path, {
      method: 'POST',
      body,
      headers: { 'content-type': contentType, accept: format === 'json' ? 'application/json' : 'image/*' },
      query: {
        conf: opts.conf,
        iou: opts.iou,
        max_det: opts.maxDet,
        classes: opts.classes !== undefined && opts.classes.length > 0 ? opts.classes.join(',') : undefined,
        agnostic: opts.agnostic === undefined ? undefined : String(opts.agnostic),
        format: format === 'image' ? 'image' : undefined,
      },
      signal: opts.signal,
    });
  }

  /** The models the server knows (`GET /v1/models`), with versions, state and a profile summary. */
  async models(opts: { signal?: AbortSignal } = {}): Promise<ModelSummary[]> {
    const body = await this.getJson('/v1/models', opts.signal);
    if (Array.isArray(body)) return body as ModelSummary[];
    if (body !== null && typeof body === 'object' && Array.isArray((body as { models?: unknown }).models)) {
      return (body as { models: ModelSummary[] }).models;
    }
    throw new TypeError('Unexpected answer from GET /v1/models: expected { models: [...] }.');
  }

  /** One model (`GET /v1/models/{name}`), with its class names in `profile.labels`. */
  async model(name: string, opts: { signal?: AbortSignal } = {}): Promise<ModelSummary> {
    return (await this.getJson(`/v1/models/${enc(name)}`, opts.signal)) as ModelSummary;
  }

  // ---- Open Inference Protocol v2 ----

  /** `GET /v2/health/ready`: true when every model is loaded and warmed up. */
  async ready(opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.probe('/v2/health/ready', opts.signal);
  }

  /** `GET /v2/health/live`: true while the server process is up. */
  async live(opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.probe('/v2/health/live', opts.signal);
  }

  /** `GET /v2/models/{name}[/versions/{v}]/ready`. */
  async modelReady(name: string, version?: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.probe(`${this.modelPath(name, version)}/ready`, opts.signal);
  }

  /** `GET /v2`: server name, version and the protocol extensions it implements. */
  async serverMetadata(opts: { signal?: AbortSignal } = {}): Promise<ServerMetadata> {
    return (await this.getJson('/v2', opts.signal)) as ServerMetadata;
  }

  /** `GET /v2/models/{name}[/versions/{v}]`: platform, inputs and outputs with datatypes and shapes. */
  async modelMetadata(name: string, version?: string, opts: { signal?: AbortSignal } = {}): Promise<ModelMetadata> {
    return (await this.getJson(this.modelPath(name, version), opts.signal)) as ModelMetadata;
  }

  /**
   * `POST /v2/models/{model}/infer`. Inputs are raw model tensors, or one BYTES input holding an
   * encoded image (then the outputs are detections: boxes, scores, classes, labels). With
   * `binary: true` tensors travel as raw little-endian bytes (binary tensor data extension).
   * Output data is always typed (Float32Array for FP32, …), whichever encoding was used.
   */
  async infer(model: string, inputs: InferInput[], opts: InferOptions = {}): Promise<InferResponse> {
    const binary = opts.binary ?? false;
    const header: Record<string, unknown> = {};
    if (opts.id !== undefined) header.id = opts.id;
    const parameters: Record<string, unknown> = { ...opts.parameters };
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    header.inputs = inputs.map((input) => {
      if (!isOipDatatype(input.datatype)) throw new TypeError(`Unknown datatype "${String(input.datatype)}" of input "${input.name}".`);
      const base = { name: input.name, datatype: input.datatype, shape: input.shape };
      if (!binary) return { ...base, ...(input.parameters ? { parameters: input.parameters } : {}), data: encodeJson(input.datatype, input.data) };
      const bytes = encodeBinary(input.datatype, input.data);
      chunks.push(bytes);
      return { ...base, parameters: { ...input.parameters, binary_data_size: bytes.byteLength } };
    });
    if (opts.outputs !== undefined) {
      header.outputs = opts.outputs.map((name) => (binary ? { name, parameters: { binary_data: true } } : { name }));
    } else if (binary) {
      parameters.binary_data_output = true;
    }
    if (Object.keys(parameters).length > 0) header.parameters = parameters;

    const json = encoder.encode(JSON.stringify(header));
    let body: Uint8Array<ArrayBuffer> = json;
    const headers: Record<string, string> = { accept: 'application/json, application/octet-stream' };
    if (binary) {
      body = new Uint8Array(json.byteLength + chunks.reduce((n, c) => n + c.byteLength, 0));
      body.set(json, 0);
      let off = json.byteLength;
      for (const c of chunks) {
        body.set(c, off);
        off += c.byteLength;
      }
      headers['content-type'] = 'application/octet-stream';
      headers['inference-header-content-length'] = String(json.byteLength);
    } else {
      headers['content-type'] = 'application/json';
    }
    const { response, bytes } = await this.send(`${this.modelPath(model, opts.version)}/infer`, {
      method: 'POST', body, headers, signal: opts.signal,
    });
    return decodeInferResponse(response.headers, bytes);
  }

  // ---- plumbing ----

  private modelPath(name: string, version?: string): string {
    return `/v2/models/${enc(name)}${version !== undefined ? `/versions/${enc(version)}` : ''}`;
  }

  private async getJson(path: string, signal?: AbortSignal): Promise<unknown> {
    const { response, bytes } = await this.send(path, { headers: { accept: 'application/json' }, signal });
    return parseBody(bytes, response.headers.get('content-type'));
  }

  /** Health probes: a 2xx is true, any HTTP error status false; no answer at all throws. */
  private async probe(path: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.send(path, { signal });
      return true;
    } catch (err) {
      if (err instanceof TimeoutError && err.status === 0) throw err;
      if (err instanceof ConnectionError) throw err;
      if (err instanceof Error && err.name === 'AbortError') throw err;
      if (err instanceof Error && 'status' in err && typeof err.status === 'number' && err.status >= 400 && err.status !== 401) return false;
      throw err;
    }
  }

  /** One request; the whole body is read within the timeout. Non-2xx → typed exception. */
  private async send(path: string, init: SendInit): Promise<Answer> {
    let url = this.baseUrl + path;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    if (qs !== '') url += `?${qs}`;

    const headers: Record<string, string> = { ...this.extraHeaders, ...init.headers };
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;

    const controller = new AbortController();
    let timedOut = false;
    const timer = this.timeoutMs > 0 ? setTimeout(() => { timedOut = true; controller.abort(); }, this.timeoutMs) : undefined;
    const callerSignal = init.signal;
    const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) controller.abort(callerSignal.reason);
    else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

    let response: Response;
    let bytes: Uint8Array;
    try {
      response = await this.fetchImpl(url, { method: init.method ?? 'GET', headers, body: init.body, signal: controller.signal });
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      if (timedOut) {
        throw new TimeoutError(
          { status: 0, code: 'TL_ERR_TIMEOUT', message: `No answer from ${url} within ${this.timeoutMs} ms.` },
          { cause: err },
        );
      }
      if (callerSignal?.aborted) throw err;
      const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new ConnectionError({ status: 0, code: 'TL_ERR_NETWORK', message: `Could not reach ${url}: ${reason}` }, { cause: err });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
    if (!response.ok) {
      throw errorFromResponse(response.status, response.headers, parseBody(bytes, response.headers.get('content-type')));
    }
    return { response, bytes };
  }
}

interface RawOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown;
  parameters?: Record<string, unknown>;
}

/** Split a (possibly binary) OIP infer answer into typed outputs. */
export function decodeInferResponse(headers: Headers, bytes: Uint8Array): InferResponse {
  const headerLength = headers.get('inference-header-content-length');
  const jsonLength = headerLength !== null ? Number(headerLength) : bytes.byteLength;
  if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > bytes.byteLength) {
    throw new TypeError(`Invalid Inference-Header-Content-Length ${headerLength} for a ${bytes.byteLength}-byte answer.`);
  }
  const raw = JSON.parse(decoder.decode(bytes.subarray(0, jsonLength))) as Omit<InferResponse, 'outputs' | 'output'> & { outputs?: RawOutput[] };
  let off = jsonLength;
  const outputs: InferOutput[] = (raw.outputs ?? []).map((o) => {
    if (!isOipDatatype(o.datatype)) throw new TypeError(`Unknown datatype "${o.datatype}" of output "${o.name}".`);
    const size = o.parameters?.binary_data_size;
    let data;
    if (typeof size === 'number') {
      if (off + size > bytes.byteLength) throw new RangeError(`Binary data of output "${o.name}" runs past the end of the answer.`);
      data = decodeBinary(o.datatype, bytes.subarray(off, off + size));
      off += size;
    } else {
      data = decodeJson(o.datatype, o.data);
    }
    return { name: o.name, datatype: o.datatype, shape: o.shape, data, ...(o.parameters ? { parameters: o.parameters } : {}) };
  });
  const response: InferResponse = {
    ...raw,
    outputs,
    output: (name: string) => outputs.find((o) => o.name === name),
  };
  Object.defineProperty(response, 'output', { enumerable: false });
  return response;
}
