/**
 * tearless evaluation: COCO-exact mAP (pycocotools' COCOeval, reproduced), dataset readers
 * (COCO JSON, YOLO txt, Pascal VOC XML) and the model-label ↔ dataset-category map.
 * cocoeval, report, class-map and the XML/YAML parsers are isomorphic; the readers use Node.
 */
export * from './types.js';
export {
  evaluate, accumulate, evalImage, summarize, summarizeOne, formatSummary, primaryMaxDets, defaultParams, resolveParams, DEFAULT_AREA_RANGES,
  type Evaluation, type EvalTables, type EvalImage, type Accumulation, type CocoEvalParams, type AreaRange, type SummaryStat,
} from './cocoeval.js';
export { cocoEvaluate, perClassResults, precisionRecallCurves, type CocoEvalResult, type ClassResult, type PrCurve } from './report.js';
export { buildClassMap, describeClassMap, normalizeClassName, toCocoDetections, type ClassMap, type ClassMatch, type ClassOverrides } from './class-map.js';
export { bboxIou } from './box-iou.js';
export * from './datasets/index.js';
