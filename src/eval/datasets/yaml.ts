/**
 * YAML for dataset files (Ultralytics `data.yaml`), read with the `yaml` package (YAML 1.2,
 * core schema). {@link parseYaml} is the one place YAML is parsed; it only turns the
 * library's parse error into a {@link YamlSyntaxError} with a line number, which the readers
 * wrap into a dataset error naming the file.
 * Isomorphic: no Node APIs (`yaml` has none either).
 */
import { parse, YAMLParseError } from 'yaml';

/** Thrown on YAML that can't be read; `line` and `column` are 1-based. Callers wrap it into a dataset error. */
export class YamlSyntaxError extends Error {
  constructor(message: string, readonly line: number, readonly column?: number, options?: ErrorOptions) {
    super(`${message} (line ${line}${column === undefined ? '' : `, column ${column}`})`, options);
    this.name = 'YamlSyntaxError';
  }
}

/** Parse one YAML document into plain JS values (null for an empty document). @throws YamlSyntaxError */
export function parseYaml(text: string): unknown {
  try {
    // logLevel 'error': errors still throw; warnings (e.g. an unknown tag) are not printed.
    return parse(text, { logLevel: 'error' });
  } catch (err) {
    if (!(err instanceof YAMLParseError)) throw err;
    // The message is "<reason> at line L, column C:" and then a code excerpt; keep the reason.
    const reason = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    const at = err.linePos?.[0];
    throw new YamlSyntaxError(reason, at?.line ?? 1, at?.col, { cause: err });
  }
}
