/**
 * Class colours of the demo: the same palette, indexed by class id, as the server's annotated
 * images (src/pipeline/annotate.ts), so a class looks the same in both. Pure data, no DOM.
 */
export const PALETTE = ['#FF3838', '#FF9D97', '#FF701F', '#FFB21D', '#CFD231', '#48F90A', '#92CC17', '#3DDB86', '#1A9334', '#00D4BB',
  '#2C99A8', '#00C2FF', '#344593', '#6473FF', '#0018EC', '#8438FF', '#520085', '#CB38FF', '#FF95C8', '#FF37C7'] as const;

export function classColour(classId: number): string {
  const i = ((classId % PALETTE.length) + PALETTE.length) % PALETTE.length;
  return PALETTE[i];
}

/** Black on light fills, white on dark ones (same rule as the server's annotations). */
export function textColourOn(hex: string): string {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? '#000000' : '#FFFFFF';
}
