// The CAM panel's Options area: the method-specific options the chosen method reads (the host's
// `init` lists them per method, from the registry), each a labelled input with its bounds and
// default from the spec table. A change is checked here first (the problem shown beside the
// input, as the host's gate would word it) and then sent as the `setOptions` intent; the host
// stores it with the panel's state and explains again. Nothing is shown for a method with none.
import {
  METHOD_OPTION_SPECS,
  type CamMethodName,
  type ExplainState,
  type MethodOptionChanges,
  type MethodOptionKey,
  type MethodOptionSpec,
} from '../../src/panel/protocol';
import { button, dropdown } from '../components/toolkit';
import { h } from '../dom';
import { optionFromText, optionText, shownOptions } from './optionsState';

export function optionsSection(send: (changes: MethodOptionChanges) => void) {
  const el = h('fieldset', { id: 'method-options', class: 'method-options', hidden: true });
  let declared: Partial<Record<CamMethodName, readonly MethodOptionKey[]>> = {};

  const setDeclared = (d: Partial<Record<CamMethodName, readonly MethodOptionKey[]>> | undefined) => {
    declared = d ?? {};
  };

  /** A number or text input for `key`, with its problem line. */
  function field(key: MethodOptionKey, s: ExplainState): HTMLElement {
    const spec: MethodOptionSpec = METHOD_OPTION_SPECS[key];
    const id = `option-${key}`;
    const problem = h('span', { id: `${id}-problem`, class: 'option-problem', 'aria-live': 'polite' });
    const current = optionText(key, s.options);
    const bounds =
      spec.kind === 'int' || spec.kind === 'number'
        ? { type: 'number', min: spec.min, max: spec.max, step: spec.kind === 'int' ? 1 : spec.step }
        : { type: 'text', placeholder: 'automatic' };
    const input = h('input', {
      id,
      ...bounds,
      value: current,
      title: `${spec.help} (${spec.flag}; default ${spec.default ?? 'automatic'})`,
      'aria-describedby': `${id}-problem`,
    });
    input.addEventListener('change', () => {
      const r = optionFromText(key, input.value);
      input.setAttribute('aria-invalid', String('problem' in r));
      problem.textContent = 'problem' in r ? r.problem : '';
      // Only a change of what is stored re-explains (retyping the shown value does not).
      if ('value' in r && JSON.stringify(r.value) !== JSON.stringify(s.options?.[key] ?? null)) send({ [key]: r.value });
    });
    return h('label', { class: 'field', for: id }, h('span', { class: 'field-label' }, spec.label), input, problem);
  }

  function choice(key: MethodOptionKey, s: ExplainState): HTMLElement {
    const spec = METHOD_OPTION_SPECS[key] as Extract<MethodOptionSpec, { kind: 'choice' }>;
    const current = optionText(key, s.options);
    const dd = dropdown(
      `option-${key}`,
      spec.label,
      spec.choices.map((c) => ({ value: c, label: c === spec.default ? `${c} (default)` : c })),
      current,
      (v) => {
        if (v !== current) send({ [key]: v } as MethodOptionChanges);
      },
    );
    dd.title = `${spec.help} (${spec.flag})`;
    return dd;
  }

  /** The inputs of `s.method`'s options, showing `s.options`. */
  function render(s: ExplainState): void {
    const keys = shownOptions(s.method, declared);
    el.hidden = keys.length === 0;
    if (!keys.length) return el.replaceChildren();
    const reset = button('options-default', 'Defaults', () => send(Object.fromEntries(keys.map((k) => [k, null]))));
    reset.setAttribute('aria-label', `Set every ${s.method} option to its default`);
    // The host's next state re-renders the inputs: the keyboard stays where it was.
    const focused = el.contains(document.activeElement) ? document.activeElement?.id : undefined;
    el.replaceChildren(
      h('legend', { class: 'field-label' }, `${s.method} options`),
      ...keys.map((k) => (METHOD_OPTION_SPECS[k].kind === 'choice' ? choice(k, s) : field(k, s))),
      reset,
    );
    if (focused) document.getElementById(focused)?.focus();
  }

  return { el, render, setDeclared };
}
