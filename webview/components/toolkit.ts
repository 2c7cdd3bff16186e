// Every use of @vscode/webview-ui-toolkit goes through this file: the controls the webviews
// build, each a toolkit element with the value/checked/change behaviour the apps rely on.
// Moving to the toolkit's successor changes this folder only.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDivider,
  vsCodeDropdown,
  vsCodeOption,
  vsCodeProgressRing,
  vsCodeRadio,
  vsCodeRadioGroup,
} from '@vscode/webview-ui-toolkit';
import { h } from '../dom';

let registered = false;
/** Defines the toolkit's custom elements (once per page). */
export function registerComponents(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(
    vsCodeButton(),
    vsCodeCheckbox(),
    vsCodeDivider(),
    vsCodeDropdown(),
    vsCodeOption(),
    vsCodeProgressRing(),
    vsCodeRadio(),
    vsCodeRadioGroup(),
  );
}

export type Appearance = 'primary' | 'secondary' | 'icon';

export function button(id: string, label: string, onClick: () => void, appearance: Appearance = 'secondary'): HTMLElement {
  const b = h('vscode-button', { id, appearance }, label);
  b.addEventListener('click', onClick);
  return b;
}

export function checkbox(id: string, label: string, checked: boolean, onChange: (checked: boolean) => void): HTMLElement {
  const cb = h('vscode-checkbox', { id, checked }, label);
  cb.addEventListener('change', () => onChange((cb as unknown as { checked: boolean }).checked));
  return cb;
}

/** A labelled dropdown; the element with `id` is the dropdown itself (tests click it). */
export function dropdown(
  id: string,
  label: string,
  options: Array<{ value: string; label: string }>,
  value: string | undefined,
  onChange: (value: string) => void,
): HTMLElement {
  const dd = h('vscode-dropdown', { id, 'aria-label': label, position: 'below' });
  for (const o of options) dd.append(h('vscode-option', { value: o.value }, o.label));
  if (value !== undefined) queueMicrotask(() => ((dd as unknown as { value: string }).value = value));
  dd.addEventListener('change', () => onChange((dd as unknown as { value: string }).value));
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), dd);
}

/** Radio buttons (`vscode-radio[value=…]`); onChange gets the newly checked value. */
export function radioGroup(
  id: string,
  label: string,
  options: ReadonlyArray<readonly [value: string, label: string]>,
  value: string,
  onChange: (value: string) => void,
): HTMLElement {
  const group = h('vscode-radio-group', { id, 'aria-label': label }, h('label', { slot: 'label' }, label));
  for (const [v, l] of options) group.append(h('vscode-radio', { value: v, checked: value === v }, l));
  group.addEventListener('change', () => {
    const v = (group as unknown as { value: string }).value;
    if (v) onChange(v);
  });
  return group;
}

export const progressRing = (): HTMLElement => h('vscode-progress-ring');
