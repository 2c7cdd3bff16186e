// The panel's Options area without the DOM: which inputs a method gets (the options the registry
// says it reads, in the table's order), what each input shows, and the value an input's text
// means, checked against the same spec table the host's gate and the CLI use.
import {
  METHOD_OPTION_SPECS,
  methodOptionProblem,
  type CamMethodName,
  type MethodOptionKey,
  type MethodOptionSpec,
  type MethodOptionValues,
} from '../../src/panel/protocol';

/** The options `method` declares (the host's `init` says which), in the spec table's order. */
export function shownOptions(method: CamMethodName, declared: Partial<Record<CamMethodName, readonly MethodOptionKey[]>>): MethodOptionKey[] {
  const keys = declared[method] ?? [];
  return (Object.keys(METHOD_OPTION_SPECS) as MethodOptionKey[]).filter((k) => keys.includes(k));
}

/** The text an input shows: the value set, else the default ('' for finercam's automatic classes). */
export function optionText(key: MethodOptionKey, values: MethodOptionValues | undefined): string {
  const v = values?.[key] ?? (METHOD_OPTION_SPECS[key] as MethodOptionSpec).default;
  return Array.isArray(v) ? v.join(', ') : v === null ? '' : String(v);
}

/**
 * What an input's text asks for: a value, null (the default: an empty field), or the problem with
 * it (the sentence the input shows, as the host would say it).
 */
export function optionFromText(key: MethodOptionKey, text: string): { value: MethodOptionValues[MethodOptionKey] | null } | { problem: string } {
  const spec: MethodOptionSpec = METHOD_OPTION_SPECS[key];
  const t = text.trim();
  if (t === '') return { value: null };
  const value = spec.kind === 'choice' ? t : spec.kind === 'classes' ? t.split(',').map((s) => (s.trim() === '' ? NaN : Number(s.trim()))) : Number(t);
  const problem = methodOptionProblem(key, value, `"${t}"`);
  return problem ? { problem } : { value: value as MethodOptionValues[MethodOptionKey] };
}
