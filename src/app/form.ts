// The form's settings fields, made from dsnot prune's flag table (one field per settings flag,
// named as the flag), and the form's values as URL parameters: a run by hand and a run by URL
// go through the same parseParams.
import { DEVICE_CHOICES, INIT_CHOICES, REFINE_CHOICES } from '../cli/flags.js';
import { PRUNE_FILE_FLAGS, PRUNE_FLAGS } from '../cli/prune-flags.js';
import { IGNORED_FLAGS, isOn } from './params.js';

const CHOICES: Record<string, readonly string[]> = { init: INIT_CHOICES, refine: REFINE_CHOICES, device: DEVICE_CHOICES };
/** Flags that have their own field outside the settings grid (or none). */
const NOT_SETTINGS = new Set<string>([...PRUNE_FILE_FLAGS, ...IGNORED_FLAGS, 'eval-seqlen']);

/** Fill `grid` with a field per settings flag; `defaults` become placeholders and "default" options. */
export function buildSettings(grid: HTMLElement, defaults: Record<string, string>): void {
  for (const [name, spec] of Object.entries(PRUNE_FLAGS)) {
    if (NOT_SETTINGS.has(name)) continue;
    const label = document.createElement('label');
    label.textContent = name;
    let field: HTMLInputElement | HTMLSelectElement;
    if (spec.type === 'boolean') {
      field = Object.assign(document.createElement('input'), { type: 'checkbox' });
    } else if (CHOICES[name]) {
      field = document.createElement('select');
      field.append(new Option(`default (${defaults[name]})`, ''), ...CHOICES[name].map((c) => new Option(c, c)));
    } else {
      field = Object.assign(document.createElement('input'), { type: 'text', placeholder: defaults[name] ?? '' });
    }
    field.name = name;
    field.id = `flag-${name}`;
    label.append(field);
    grid.append(label);
  }
}

type Field = HTMLInputElement | HTMLSelectElement;

function fields(form: HTMLFormElement): Field[] {
  return [...form.elements].filter((e): e is Field => (e instanceof HTMLInputElement || e instanceof HTMLSelectElement) && !!e.name && e.type !== 'radio' && e.type !== 'file');
}

/** Put URL parameters into the form's fields (unknown names are left for parseParams to refuse). */
export function fillForm(form: HTMLFormElement, params: URLSearchParams): void {
  for (const f of fields(form)) {
    const v = params.get(f.name);
    if (v === null) continue;
    if (f instanceof HTMLInputElement && f.type === 'checkbox') f.checked = isOn(v);
    else f.value = v;
  }
}

/** The form's non-empty fields as URL parameters (checkboxes: 1 when ticked); `extra` kept as given. */
export function formParams(form: HTMLFormElement, extra: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const f of fields(form)) {
    if (f instanceof HTMLInputElement && f.type === 'checkbox') {
      if (f.checked) out.set(f.name, '1');
    } else if (f.value.trim() !== '') out.set(f.name, f.value.trim());
  }
  // Parameters the form has no field for (unknown ones included, so that they are refused).
  for (const [k, v] of extra) if (!form.elements.namedItem(k) && k !== 'run') out.append(k, v);
  return out;
}
