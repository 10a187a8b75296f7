/**
 * XML for Pascal VOC annotation files, read with fast-xml-parser. {@link parseXml} checks the
 * document with its validator (which reports a line), parses it in document order and returns
 * the root as a small element tree walked with {@link child}, {@link children} and
 * {@link childText}. Text stays text (`<filename>000123</filename>` is not the number 123) and
 * an element's children are always a list, whether it has one `<object>` or many.
 * Isomorphic: no Node APIs (fast-xml-parser has none either).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** One element: its name, attributes, child elements and its own text. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Text directly inside this element (not its children's), entities decoded, each run trimmed. */
  text: string;
  /** 1-based line of the start tag, for error messages. */
  line: number;
}

/** Thrown on malformed XML; `line` is 1-based. Callers wrap it into a dataset error. */
export class XmlSyntaxError extends Error {
  constructor(message: string, readonly line: number, readonly column?: number) {
    super(`${message} (line ${line}${column === undefined ? '' : `, column ${column}`})`);
    this.name = 'XmlSyntaxError';
  }
}

const parser = new XMLParser({
  preserveOrder: true, // every element's content is an ordered list of nodes
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false, // keep text as written; voc.ts converts numbers itself
  ignoreDeclaration: true,
  ignorePiTags: true,
  // fast-xml-parser 5 decodes numeric references (&#233;, which Python's ElementTree writes for
  // non-ASCII names) only with this on; it also adds the HTML named entities.
  htmlEntities: true,
  captureMetaData: true, // start offsets, for line numbers
});
const META = XMLParser.getMetaDataSymbol() as unknown as symbol;
const ATTRS = ':@';
const TEXT = '#text';

/** A node of fast-xml-parser's `preserveOrder` output: `{ tag: Node[], ':@'?: attributes }` or `{ '#text': … }`. */
type Node = Record<string, unknown>;
const tagOf = (node: Node): string => Object.keys(node).find((k) => k !== ATTRS)!;
const startOf = (node: Node): number | undefined => (node as Record<symbol, { startIndex?: number } | undefined>)[META]?.startIndex;

/** Parse a document and return its root element. @throws XmlSyntaxError */
export function parseXml(src: string): XmlElement {
  const xml = src.replace(/\r\n?/g, '\n'); // so offsets and line numbers agree with the validator
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new XmlSyntaxError(valid.err.msg.replace(/\.$/, ''), valid.err.line, valid.err.col);
  // Elements are met in document order, so the line count only moves forward.
  let at = 0, line = 1;
  const lineAt = (offset = at): number => {
    for (; at < offset; at++) if (xml.charCodeAt(at) === 10) line++;
    return line;
  };
  const element = (node: Node, name: string): XmlElement => {
    const el: XmlElement = { name, attributes: (node[ATTRS] ?? {}) as Record<string, string>, children: [], text: '', line: lineAt(startOf(node)) };
    for (const c of node[name] as Node[]) {
      if (TEXT in c) el.text += String(c[TEXT]);
      else el.children.push(element(c, tagOf(c)));
    }
    return el;
  };
  const roots = (parser.parse(xml) as Node[]).filter((n) => !(TEXT in n));
  if (roots.length === 0) throw new XmlSyntaxError('no root element', 1);
  const root = element(roots[0], tagOf(roots[0]));
  if (roots.length > 1) throw new XmlSyntaxError(`<${tagOf(roots[1])}> after the root element <${root.name}>`, lineAt(startOf(roots[1])));
  return root;
}

/** The first child element called `name`, or undefined. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every child element called `name`. */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** Trimmed text of the first child called `name`, or undefined if there is no such child. */
export function childText(el: XmlElement, name: string): string | undefined {
  return child(el, name)?.text.trim();
}
