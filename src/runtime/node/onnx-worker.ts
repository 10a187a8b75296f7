/**
 * Worker-thread host of one onnxruntime session. onnxruntime-node's `run` executes
 * synchronously on the calling thread, so sessions live here: the main thread stays free to
 * decode and pre-process the next images (and, in the server, to answer requests), and several
 * workers give real parallel inference streams.
 *
 * Protocol (messages from the parent):
 *   { type: 'load', bytes, options }       → { type: 'loaded', inputs, outputs } | { type: 'error' }
 *   { type: 'run', id, feeds, outputNames } → { type: 'result', id, outputs } | { type: 'error', id }
 */
import { parentPort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { CoreTensor } from '../../core/types.js';
import type { BackendOptions } from '../backend.js';
import { createSession, fromOrtResults, sessionValueInfo, toOrtFeeds } from './onnx-session.js';

type Message =
  | { type: 'load'; bytes: Uint8Array; options: BackendOptions & { threads: number } }
  | { type: 'run'; id: number; feeds: Record<string, CoreTensor>; outputNames?: string[] }
  | { type: 'release' };

let session: ort.InferenceSession | null = null;
const port = parentPort!;

port.on('message', async (msg: Message) => {
  if (msg.type === 'release') {
    // Release the session before the thread ends: terminating the worker alone leaves
    // onnxruntime's intra-op pool threads alive (and spinning on a core).
    const s = session;
    session = null;
    try {
      await s?.release();
    } finally {
      port.postMessage({ type: 'released' });
    }
    return;
  }
  if (msg.type === 'load') {
    try {
      session = await createSession(msg.bytes, msg.options);
      port.postMessage({ type: 'loaded', ...sessionValueInfo(session) });
    } catch (err) {
      port.postMessage({ type: 'error', message: (err as Error).message });
    }
    return;
  }
  if (msg.type === 'run') {
    try {
      if (!session) throw new Error('no model loaded');
      const feeds = toOrtFeeds(msg.feeds);
      const results = msg.outputNames ? await session.run(feeds, msg.outputNames) : await session.run(feeds);
      const outputs = fromOrtResults(results);
      // Hand the output buffers over instead of copying them (YOLOX: 1.2 MB per image).
      const transfer = new Set<ArrayBuffer>();
      for (const t of Object.values(outputs)) {
        const buf = (t.data as { buffer?: unknown }).buffer;
        if (buf instanceof ArrayBuffer) transfer.add(buf);
      }
      try {
        port.postMessage({ type: 'result', id: msg.id, outputs }, [...transfer]);
      } catch {
        port.postMessage({ type: 'result', id: msg.id, outputs }); // a buffer that cannot move is copied
      }
    } catch (err) {
      port.postMessage({ type: 'error', id: msg.id, message: (err as Error).message });
    }
  }
});
