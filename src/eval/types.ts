/**
 * Shared types of the evaluation module, in COCO's own JSON vocabulary (snake_case fields,
 * `bbox` as `[x, y, w, h]` in pixels) so a COCO file can be passed straight through.
 * Nothing here may depend on Node: the evaluator runs in the browser too.
 */

/** `[x, y, width, height]` in pixels, top-left origin (COCO's box convention). */
export type XYWH = [number, number, number, number];

/** An image of the ground truth. Only `id` is needed to evaluate. */
export interface CocoImage {
  id: number;
  file_name?: string;
  width?: number;
  height?: number;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

/** A ground-truth box. */
export interface CocoAnnotation {
  /** Unique annotation id; assigned 1…N in input order when absent. */
  id?: number;
  image_id: number;
  category_id: number;
  bbox: XYWH;
  /** Object area used for the small/medium/large buckets; defaults to `w * h`. */
  area?: number;
  /** Crowd region: detections inside it are neither true nor false positives. */
  iscrowd?: number | boolean;
  /**
   * "Do not score" flag (e.g. VOC `difficult`). pycocotools overwrites it with `iscrowd`,
   * so it only takes effect with the evaluator's `useIgnoreFlag` option.
   */
  ignore?: number | boolean;
}

/** Ground truth in COCO form: what {@link evaluate} reads. */
export interface CocoGroundTruth {
  images: CocoImage[];
  categories: CocoCategory[];
  annotations: CocoAnnotation[];
}

/** One detection in the COCO results format (`loadRes`). */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  bbox: XYWH;
  score: number;
}

/** An image of a {@link Dataset}: where it is and how big it is. */
export interface DatasetImage {
  id: number;
  /** Path relative to the dataset's image folder (COCO `file_name`). */
  file_name: string;
  /** Absolute (or caller-relative) path of the image file. */
  path: string;
  width: number;
  height: number;
}

/** A dataset annotation: a COCO annotation with every optional field filled in. */
export interface DatasetAnnotation extends CocoAnnotation {
  id: number;
  area: number;
  iscrowd: number;
  ignore?: number;
}

/** What every dataset reader (COCO JSON, YOLO txt, Pascal VOC XML) returns. */
export interface Dataset extends CocoGroundTruth {
  images: DatasetImage[];
  categories: CocoCategory[];
  annotations: DatasetAnnotation[];
  /** Which reader made it and from where. */
  source: { format: 'coco' | 'yolo' | 'voc'; path: string };
  /** Things skipped or repaired while reading (zero-size boxes, missing label files, …). */
  warnings: string[];
}
