/** Shared test helpers: fixture paths and the optional larger data beside the repo. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const fixtureModel = (name: string): string => path.join(FIXTURES, 'models', name);
export const fixtureImage = (name: string): string => path.join(FIXTURES, 'images', name);
export const BUNDLED_MODEL = path.join(ROOT, 'models', 'yolox_nano_416_coco.onnx');

/** `../shared/data/<rel>` when that folder exists beside the repo (CI and dev machines), else null. */
export function sharedData(rel: string): string | null {
  const p = path.resolve(ROOT, '..', 'shared', 'data', rel);
  return existsSync(p) ? p : null;
}

/** mulberry32: a small seeded PRNG, so generated test and bench data are the same every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
