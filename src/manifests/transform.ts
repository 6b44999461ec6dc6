/**
 * Runs inject/uninject over parsed manifests and writes the result: changed documents are patched
 * in place in their yaml Document (comments kept), untouched documents are copied byte for byte.
 * `kind: List` items are handled one by one.
 */
import { Document, stringify } from 'yaml';
import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { isObject } from '../inject/workloads.js';
import type { InjectResult, ResourceReport } from '../inject/types.js';
import { applyPatchToDocument } from './yaml-patch.js';
import type { ManifestDoc } from './read.js';

export type OutputFormat = 'yaml' | 'json';

export interface DocResult {
  readonly doc: ManifestDoc;
  readonly patch: Operation[];
  readonly reports: ResourceReport[];
  /** The document's value after the patch. */
  readonly value: unknown;
}

export function isList(v: unknown): v is { kind: 'List'; items: unknown[] } {
  return isObject(v) && v.kind === 'List' && Array.isArray(v.items);
}

/** Applies `fn` to every resource of a document (each List item separately). */
export function transformDoc(d: ManifestDoc, fn: (obj: unknown) => InjectResult): DocResult {
  if (d.value === null) return { doc: d, patch: [], reports: [], value: null };
  const patch: Operation[] = [];
  const reports: ResourceReport[] = [];
  if (isList(d.value)) {
    d.value.items.forEach((item, i) => {
      const r = fn(item);
      reports.push(r.report);
      for (const op of r.patch) patch.push({ ...op, path: `/items/${i}${op.path}` } as Operation);
    });
  } else {
    const r = fn(d.value);
    reports.push(r.report);
    patch.push(...r.patch);
  }
  const value = patch.length ? fjp.applyPatch(fjp.deepClone(d.value), fjp.deepClone(patch) as Operation[], false, true).newDocument : d.value;
  return { doc: d, patch, reports, value };
}

/** `key:\n- item` at the same indentation: the file does not indent sequences inside maps. */
function indentsSequences(text: string): boolean {
  return !/^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(text);
}

function yamlText(r: DocResult): string {
  if (r.patch.length === 0) return r.doc.segment;
  if (r.doc.json) return stringify(r.value, { lineWidth: 0 });
  // Patch a copy of the parsed Document so the caller's ManifestDoc stays as read.
  const doc = r.doc.doc.clone() as Document;
  applyPatchToDocument(doc, r.patch);
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false, indentSeq: indentsSequences(r.doc.segment) });
}

/** Joins the output of several documents/sources into one YAML stream. */
export function renderYaml(results: readonly DocResult[]): string {
  let out = '';
  let prevSource: unknown = null;
  for (const r of results) {
    let text = yamlText(r);
    if (prevSource !== null && prevSource !== r.doc.source) {
      if (out.length && !out.endsWith('\n')) out += '\n';
      if (!/^(\s*#[^\n]*\n)*\s*---/.test(text)) text = `---\n${text}`;
    }
    out += text;
    prevSource = r.doc.source;
  }
  if (out.length && !out.endsWith('\n')) out += '\n';
  return out;
}

/** One JSON document per resource document (a stream `kubectl apply -f -` accepts). */
export function renderJson(results: readonly DocResult[]): string {
  return results.filter((r) => r.value !== null).map((r) => JSON.stringify(r.value, null, 2) + '\n').join('');
}

export function render(results: readonly DocResult[], format: OutputFormat): string {
  return format === 'json' ? renderJson(results) : renderYaml(results);
}

// Document is re-exported for callers building documents from values.
export { Document };
