/**
 * Candidate boxes as a struct of typed arrays (xyxy boxes, scores, class ids), growable.
 * Decoders fill one; NMS and the final mapping read it. No per-box objects until the end.
 */
export class Candidates {
  boxes: Float32Array;
  scores: Float32Array;
  classIds: Int32Array;
  count = 0;

  constructor(capacity = 256) {
    this.boxes = new Float32Array(capacity * 4);
    this.scores = new Float32Array(capacity);
    this.classIds = new Int32Array(capacity);
  }

  push(x1: number, y1: number, x2: number, y2: number, score: number, classId: number): void {
    if (this.count === this.scores.length) this.grow();
    const i = this.count++;
    const o = i * 4;
    this.boxes[o] = x1;
    this.boxes[o + 1] = y1;
    this.boxes[o + 2] = x2;
    this.boxes[o + 3] = y2;
    this.scores[i] = score;
    this.classIds[i] = classId;
  }

  /** Push a centre-size box. */
  pushCxcywh(cx: number, cy: number, w: number, h: number, score: number, classId: number): void {
    this.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, classId);
  }

  private grow(): void {
    const cap = this.scores.length * 2;
    const boxes = new Float32Array(cap * 4);
    boxes.set(this.boxes);
    const scores = new Float32Array(cap);
    scores.set(this.scores);
    const classIds = new Int32Array(cap);
    classIds.set(this.classIds);
    this.boxes = boxes;
    this.scores = scores;
    this.classIds = classIds;
  }
}
