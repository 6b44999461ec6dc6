/**
 * A label selector evaluated as the API server does (metav1.LabelSelector): every matchLabels pair
 * and every matchExpressions requirement must hold; an empty or absent selector matches everything.
 * In: the key is present with one of the values. NotIn: the key is absent, or its value is none of
 * them. Exists / DoesNotExist: the key is present / absent. Anything else is a malformed selector,
 * which the API server would reject: that throws here too.
 */
export interface Requirement { key: string; operator: string; values?: string[] }
export interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: Requirement[] }

export function matches(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(labels, k);
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (!has(k) || labels[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const values = r.values ?? [];
    switch (r.operator) {
      case 'In':
        if (values.length === 0) throw new Error(`${r.key} In needs values`);
        if (!has(r.key) || !values.includes(labels[r.key]!)) return false;
        break;
      case 'NotIn':
        if (values.length === 0) throw new Error(`${r.key} NotIn needs values`);
        if (has(r.key) && values.includes(labels[r.key]!)) return false;
        break;
      case 'Exists':
        if (values.length) throw new Error(`${r.key} Exists takes no values`);
        if (!has(r.key)) return false;
        break;
      case 'DoesNotExist':
        if (values.length) throw new Error(`${r.key} DoesNotExist takes no values`);
        if (has(r.key)) return false;
        break;
      default:
        throw new Error(`unknown operator ${r.operator}`);
    }
  }
  return true;
}
