/**
 * Reading manifests: files, directories (recursive, .yaml/.yml/.json, sorted) and stdin, split into
 * documents with the yaml Document API so comments, key order and each document's exact source
 * text survive to the output.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, type Document } from 'yaml';
import { InputError } from '../errors.js';

export interface Source { readonly name: string; readonly text: string }

export interface ManifestDoc {
  readonly source: Source;
  /** 0-based position of the document in its source. */
  readonly index: number;
  readonly doc: Document;
  /** The document's exact source text (with its separators and comments): concatenating all segments gives the source back. */
  readonly segment: string;
  /** Plain JSON value of the document (null for an empty document). */
  readonly value: unknown;
  /** The document was written as JSON (flow style at the root). */
  readonly json: boolean;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...walk(p));
    else if (MANIFEST_EXT.test(name)) out.push(p);
  }
  return out;
}

/** Reads every PATH (file, directory, or "-" for stdin). Unreadable paths are an InputError. */
export function readSources(paths: readonly string[], readStdin: () => string): Source[] {
  const sources: Source[] = [];
  for (const p of paths) {
    if (p === '-') { sources.push({ name: '<stdin>', text: readStdin() }); continue; }
    let st;
    try { st = statSync(p); } catch (e) {
      throw new InputError(`${p}: cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    const files = st.isDirectory() ? walk(p) : [p];
    if (st.isDirectory() && files.length === 0) throw new InputError(`${p}: no .yaml, .yml or .json files in this directory`);
    for (const f of files) {
      try { sources.push({ name: f, text: readFileSync(f, 'utf8') }); } catch (e) {
        throw new InputError(`${f}: cannot read: ${(e as Error).message}`);
      }
    }
  }
  return sources;
}

/** Splits a source into documents; a YAML error becomes `file:line:column: message`. */
export function parseSource(source: Source): ManifestDoc[] {
  const parsed = parseAllDocuments(source.text, { prettyErrors: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const out: ManifestDoc[] = [];
  let start = 0;
  for (let i = 0; i < docs.length; i++) {
    const doc = docs[i]!;
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const where = pos ? `${source.name}:${pos.line}:${pos.col}` : source.name;
      const first = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new InputError(`${where}: invalid YAML: ${first}`);
    }
    const end = i === docs.length - 1 ? source.text.length : doc.range[2];
    const segment = source.text.slice(start, end);
    start = end;
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    const json = /^\s*(#[^\n]*\n\s*)*[{[]/.test(source.text.slice(doc.range[0]));
    out.push({ source, index: i, doc, segment, value: value === undefined ? null : value, json });
  }
  if (docs.length === 0 && source.text.length) {
    // Only comments/whitespace: keep the text as it is.
    return [];
  }
  return out;
}
