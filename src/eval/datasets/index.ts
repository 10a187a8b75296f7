/**
 * Dataset readers. Each returns the same {@link Dataset}: images (id, file name, path, size),
 * categories and COCO-form annotations, ready for the evaluator.
 */
import path from 'node:path';
import { datasetError } from '../errors.js';
import type { Dataset } from '../types.js';
import { readCocoDataset, type CocoReadOptions } from './coco.js';
import { isDirectory } from './files.js';
import { readVocDataset, type VocReadOptions } from './voc.js';
import { readYoloDataset, type YoloReadOptions } from './yolo.js';

export { readCocoDataset, parseCocoDataset, type CocoReadOptions } from './coco.js';
export { readYoloDataset, parseYoloLabels, type YoloReadOptions, type YoloBox } from './yolo.js';
export { readVocDataset, parseVocXml, type VocReadOptions, type VocAnnotationFile } from './voc.js';

export type DatasetFormat = 'coco' | 'yolo' | 'voc';

/**
 * Read a dataset, guessing the format from the path: a `.json` file is COCO, a `.yaml` file is
 * YOLO, a folder with `Annotations/` (or `annotations/`) is VOC, any other folder is YOLO images.
 * @throws TearlessError TL_ERR_DATASET_INVALID
 */
export async function readDataset(
  source: string,
  options: { format?: DatasetFormat } & CocoReadOptions & YoloReadOptions & VocReadOptions = {},
): Promise<Dataset> {
  const format = options.format ?? (await detectFormat(source));
  switch (format) {
    case 'coco': return readCocoDataset(source, options);
    case 'yolo': return readYoloDataset(source, options);
    case 'voc': return readVocDataset(source, options);
  }
}

/** The format {@link readDataset} would use for `source`. */
export async function detectFormat(source: string): Promise<DatasetFormat> {
  const ext = path.extname(source).toLowerCase();
  if (ext === '.json') return 'coco';
  if (ext === '.yaml' || ext === '.yml') return 'yolo';
  if (await isDirectory(source)) {
    if ((await isDirectory(path.join(source, 'Annotations'))) || (await isDirectory(path.join(source, 'annotations')))) return 'voc';
    return 'yolo';
  }
  throw datasetError(source, '', 'is not a COCO .json file, a YOLO data.yaml or a dataset folder.');
}
