/** The report of `tearless optimize`: terminal table, `--json` and the `--report` HTML file. */
export { optimizeReportText } from './text.js';
export { optimizeReportJson } from './json.js';
export { optimizeReportHtml } from './html.js';
