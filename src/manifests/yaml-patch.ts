/**
 * Applies an RFC 6902 patch (from inject/uninject) to a yaml Document in place, so every node the
 * patch does not touch keeps its comments, style and position.
 */
import { isMap, isNode, isSeq, isScalar, visit, type Document, type Node } from 'yaml';
import type { Operation } from 'fast-json-patch';

function unescape(s: string): string { return s.replace(/~1/g, '/').replace(/~0/g, '~'); }

function keyOf(item: { key: unknown }): unknown {
  return isScalar(item.key) ? item.key.value : item.key;
}

function child(node: unknown, seg: string): unknown {
  if (isMap(node)) return node.items.find((p) => keyOf(p) === seg)?.value;
  if (isSeq(node)) return node.items[Number(seg)];
  throw new Error(`cannot descend into ${seg}`);
}

/** New keys go to the end of a map, except `metadata`, which reads best before `spec`. */
function addPair(doc: Document, map: import('yaml').YAMLMap, key: string, value: Node): void {
  const existing = map.items.find((p) => keyOf(p) === key);
  if (existing) { existing.value = value; return; }
  const pair = doc.createPair(key, value);
  const specAt = key === 'metadata' ? map.items.findIndex((p) => keyOf(p) === 'spec') : -1;
  if (specAt >= 0) map.items.splice(specAt, 0, pair);
  else map.items.push(pair);
}

/**
 * Strings that YAML 1.1 readers (kubectl's go-yaml) could take for numbers or booleans, such as
 * "4143:8080" (base 60) or "on", are double-quoted in new nodes.
 */
const AMBIGUOUS = /^([-+0-9.:_eE]+|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|true|True|TRUE|false|False|FALSE|null|Null|NULL|~|)$/;

function newNode(doc: Document, value: unknown): Node {
  const node = doc.createNode(value) as Node;
  visit(node, {
    Scalar(_, s) {
      if (typeof s.value === 'string' && AMBIGUOUS.test(s.value)) s.type = 'QUOTE_DOUBLE';
    },
  });
  return node;
}

export function applyPatchToDocument(doc: Document, ops: readonly Operation[]): void {
  for (const op of ops) {
    const segs = op.path.split('/').slice(1).map(unescape);
    const last = segs.pop();
    if (last === undefined) throw new Error('patching the document root is not supported');
    let parent: unknown = doc.contents;
    for (const s of segs) parent = child(parent, s);
    if (op.op === 'add' || op.op === 'replace') {
      const node = newNode(doc, op.value);
      if (isMap(parent)) addPair(doc, parent, last, node);
      else if (isSeq(parent)) {
        if (last === '-') parent.items.push(node);
        else if (op.op === 'add') {
          const at = Number(last);
          // A comment above a block sequence's first item belongs to that item: keep it there.
          const first = parent.items[0];
          if (at === 0 && parent.commentBefore && isNode(first)) {
            const f = first as { commentBefore?: string | null };
            f.commentBefore = f.commentBefore ? `${parent.commentBefore}\n${f.commentBefore}` : parent.commentBefore;
            parent.commentBefore = null;
          }
          parent.items.splice(at, 0, node);
        }
        else parent.items[Number(last)] = node;
      } else throw new Error(`no collection at ${op.path}`);
    } else if (op.op === 'remove') {
      if (isMap(parent)) {
        const i = parent.items.findIndex((p) => keyOf(p) === last);
        if (i >= 0) parent.items.splice(i, 1);
      } else if (isSeq(parent)) parent.items.splice(Number(last), 1);
      else throw new Error(`no collection at ${op.path}`);
    } else {
      throw new Error(`unsupported patch operation ${op.op}`);
    }
  }
}
