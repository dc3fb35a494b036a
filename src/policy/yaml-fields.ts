/**
 * Reading YAML with positions: every error names the file, the line and the field path, e.g.
 * "rules/x.yaml:12: rows[2].ports: port range 14099-14000 is out of order".
 * Shared by the rules schema and the inventory so both report problems the same way.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { LineCounter, Node, YAMLMap } from 'yaml';
import { RulesError } from '../model/errors.js';

let yamlModule: typeof Yaml | undefined;

/**
 * The yaml package, loaded on first use: it takes about 45 ms to load, and a plain `analyze` with
 * the shipped rules (precompiled, see rules-cache.ts) and address flags reads no YAML at all.
 */
export function yaml(): typeof Yaml {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}
const isMap = (n: unknown): n is YAMLMap<unknown, unknown> => yaml().isMap(n);
const isScalar = (n: unknown): n is Yaml.Scalar => yaml().isScalar(n);
const isSeq = (n: unknown): n is Yaml.YAMLSeq => yaml().isSeq(n);

export class YamlSource {
  readonly file: string;
  private readonly lines: LineCounter;
  readonly root: Node | null;

  constructor(file: string, text: string) {
    this.file = file;
    const { LineCounter, parseDocument } = yaml();
    this.lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    const first = doc.errors[0];
    if (first) {
      const line = this.lines.linePos(first.pos[0]).line;
      throw new RulesError(`${file}:${line}: not valid YAML: ${first.message.split('\n')[0] ?? ''}`);
    }
    this.root = doc.contents as Node | null;
  }

  lineOf(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  fail(node: Node | null | undefined, path: string, message: string): never {
    throw new RulesError(`${this.file}:${this.lineOf(node)}: ${path}: ${message}`);
  }

  /** The mapping at `node`, checking that it has only `allowed` keys. */
  map(node: Node | null | undefined, path: string, allowed: readonly string[]): YAMLMap<unknown, unknown> {
    if (!isMap(node)) this.fail(node, path, 'expected a mapping');
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (!allowed.includes(key)) {
        this.fail(pair.key as Node, `${path ? `${path}.` : ''}${key}`, `unknown field (expected one of: ${allowed.join(', ')})`);
      }
    }
    return node;
  }

  get(map: YAMLMap<unknown, unknown>, key: string): Node | undefined {
    const v = map.get(key, true);
    return (v ?? undefined) as Node | undefined;
  }

  /** A scalar string; `undefined` when absent and not required. */
  str(map: YAMLMap<unknown, unknown>, key: string, path: string, required: true): string;
  str(map: YAMLMap<unknown, unknown>, key: string, path: string, required?: boolean): string | undefined;
  str(map: YAMLMap<unknown, unknown>, key: string, path: string, required = false): string | undefined {
    const node = this.get(map, key);
    const at = `${path}.${key}`;
    if (node === undefined) {
      if (required) this.fail(map, at, 'missing required field');
      return undefined;
    }
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') this.fail(node, at, 'expected a string');
    return String(node.value);
  }

  bool(map: YAMLMap<unknown, unknown>, key: string, path: string): boolean | undefined {
    const node = this.get(map, key);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== 'boolean') this.fail(node, `${path}.${key}`, 'expected true or false');
    return node.value;
  }

  /** A scalar or a sequence of scalars, as strings, each with its node for error positions. */
  list(map: YAMLMap<unknown, unknown>, key: string, path: string, required: boolean): { value: string; node: Node }[] | undefined {
    const node = this.get(map, key);
    const at = `${path}.${key}`;
    if (node === undefined) {
      if (required) this.fail(map, at, 'missing required field');
      return undefined;
    }
    const items: Node[] = isSeq(node) ? (node.items as Node[]) : [node];
    if (items.length === 0) this.fail(node, at, 'must not be empty');
    return items.map((item, i) => {
      if (!isScalar(item) || item.value === null || typeof item.value === 'object') {
        this.fail(item, isSeq(node) ? `${at}[${i}]` : at, 'expected a string or number');
      }
      return { value: String(item.value), node: item };
    });
  }

  /** A sequence of mappings. */
  seq(map: YAMLMap<unknown, unknown>, key: string, path: string): Node[] | undefined {
    const node = this.get(map, key);
    if (node === undefined) return undefined;
    if (!isSeq(node)) this.fail(node, `${path}${path ? '.' : ''}${key}`, 'expected a list');
    return node.items as Node[];
  }
}
