/** The shell of the self-contained HTML reports (bench, load, optimize): no external resources. */
import { esc } from './svg.js';

/** A complete page: `subtitle` and `sections` are HTML (already escaped), `css` inline. */
export function htmlPage(title: string, subtitle: string, sections: readonly string[], css: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${css}</style></head>
<body><main>
<h1>${esc(title)}</h1><p class="sub">${subtitle}</p>
${sections.join('\n')}
</main></body></html>
`;
}
