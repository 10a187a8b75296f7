/** `tearless info`: how a model is read — signature, resolved profile, classes. */
import pc from 'picocolors';
import { describeSignature } from '../core/profile/describe.js';
import { loadDetectorFromFlags, type CommonModelOptions } from './options.js';

export async function runInfo(flags: CommonModelOptions & { json?: boolean }): Promise<number> {
  const det = await loadDetectorFromFlags({ ...flags });
  try {
    const p = det.profile;
    if (flags.json) {
      process.stdout.write(JSON.stringify({ model: det.modelPath, signature: det.info, profile: p }, null, 2) + '\n');
      return 0;
    }
    const i = p.input;
    process.stdout.write([
      `${pc.bold('model')}    ${det.modelPath}${det.info.producer ? pc.dim(` (${det.info.producer})`) : ''}`,
      `${pc.bold('signature')}\n${describeSignature(det.info)}`,
      `${pc.bold('family')}   ${p.output.family}${p.nms ? ' + NMS' : ' (no NMS needed)'}  ${pc.dim(`[${p.source}]`)}`,
      `${pc.bold('input')}    ${i.width}×${i.height} ${i.layout.toUpperCase()} ${i.dtype}, ${i.channels.toUpperCase()}, value·${+i.scale.toFixed(6)} − [${i.mean.join(', ')}] ÷ [${i.std.join(', ')}], ${i.resize}${i.resize === 'letterbox' ? ` (${i.anchor}, pad ${i.padValue})` : ''}`,
      `${pc.bold('classes')}  ${p.labels.length}: ${p.labels.slice(0, 12).join(', ')}${p.labels.length > 12 ? ', …' : ''}`,
    ].join('\n') + '\n');
    return 0;
  } finally {
    await det.close();
  }
}
