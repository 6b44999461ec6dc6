/**
 * Builds an RFC 6902 patch step by step against a private copy of the object, so each operation
 * sees the indices the previous ones left behind. The input object is never touched.
 */
import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { getIn, isObject, pointer, type Json } from './workloads.js';

const { applyOperation, deepClone } = fjp;

export type Path = readonly (string | number)[];

export class PatchBuilder {
  readonly ops: Operation[] = [];
  private current: unknown;

  constructor(original: unknown) {
    this.current = deepClone(original);
  }

  /** The object as it is after the operations so far. */
  get doc(): unknown { return this.current; }

  get(path: Path): unknown { return getIn(this.current, path); }

  has(path: Path): boolean {
    if (path.length === 0) return true;
    const parent = getIn(this.current, path.slice(0, -1));
    const last = path[path.length - 1];
    if (Array.isArray(parent)) return typeof last === 'number' && last < parent.length;
    return isObject(parent) && typeof last === 'string' && Object.prototype.hasOwnProperty.call(parent, last);
  }

  private apply(op: Operation): void {
    this.ops.push(op);
    this.current = applyOperation(this.current, deepClone(op), false, true).newDocument;
  }

  add(path: Path, value: Json): void { this.apply({ op: 'add', path: pointer(path), value: deepClone(value) }); }
  replace(path: Path, value: Json): void { this.apply({ op: 'replace', path: pointer(path), value: deepClone(value) }); }
  remove(path: Path): void { this.apply({ op: 'remove', path: pointer(path) }); }

  /** Sets an object key (add replaces an existing key per RFC 6902). */
  set(path: Path, value: Json): void { this.add(path, value); }

  /**
   * Makes sure an object exists at `path`, creating missing ones from the top down.
   * Returns the paths it created (so they can be undone).
   */
  ensureObject(path: Path): Path[] {
    const created: Path[] = [];
    for (let i = 1; i <= path.length; i++) {
      const p = path.slice(0, i);
      const v = this.get(p);
      if (v === undefined || v === null) {
        this.add(p, {});
        created.push(p);
      } else if (!isObject(v)) {
        throw new Error(`expected an object at ${pointer(p)}`);
      }
    }
    return created;
  }

  ensureArray(path: Path): boolean {
    const v = this.get(path);
    if (Array.isArray(v)) return false;
    this.add(path, []);
    return true;
  }
}
