/**
 * A form generated from a JSON Schema object (an action's param_schema, an
 * inquiry's response_schema): one labelled field per property, typed
 * inputs, enums as selects, secrets as password inputs, defaults filled in,
 * and every value checked before anything is sent.
 */
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import type { Json, JsonObject, JsonSchema } from './types';

type Raw = string | boolean;

function typeOf(schema: JsonSchema): string {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type !== undefined) return type;
  if (schema.enum !== undefined) return 'enum';
  return 'any';
}

/** Fields in the order a person fills them: position first, then required ones, then the rest by name. */
export function orderedFields(schema: JsonSchema): [string, JsonSchema][] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {})
    .filter(([, field]) => field.immutable !== true)
    .sort(([a, fa], [b, fb]) => {
      const pa = fa.position ?? Number.MAX_SAFE_INTEGER;
      const pb = fb.position ?? Number.MAX_SAFE_INTEGER;
      if (pa !== pb) return pa - pb;
      if (required.has(a) !== required.has(b)) return required.has(a) ? -1 : 1;
      return a.localeCompare(b);
    });
}

function initialRaw(field: JsonSchema): Raw {
  const type = typeOf(field);
  if (type === 'boolean') return field.default === true;
  if (field.default === undefined || field.default === null) return '';
  if (type === 'object' || type === 'array' || type === 'any') return JSON.stringify(field.default, null, 2);
  return String(field.default);
}

/** The value of one field, or an error message. `undefined` value: left empty. */
export function parseField(name: string, field: JsonSchema, raw: Raw, required: boolean): { value?: Json; error?: string } {
  const type = typeOf(field);
  if (type === 'boolean') return { value: raw === true };
  const text = String(raw);
  if (text.trim() === '') return required ? { error: `${name} is required` } : {};
  let value: Json;
  if (type === 'integer' || type === 'number') {
    const n = Number(text);
    if (!Number.isFinite(n)) return { error: `${name} must be a number` };
    if (type === 'integer' && !Number.isInteger(n)) return { error: `${name} must be a whole number` };
    if (field.minimum !== undefined && n < field.minimum) return { error: `${name} must be at least ${field.minimum}` };
    if (field.maximum !== undefined && n > field.maximum) return { error: `${name} must be at most ${field.maximum}` };
    value = n;
  } else if (type === 'object' || type === 'array' || type === 'any') {
    try {
      value = JSON.parse(text) as Json;
    } catch {
      if (type !== 'any') return { error: `${name} must be JSON (${type === 'object' ? 'an object: {"key": "value"}' : 'a list: ["a", "b"]'})` };
      value = text;
    }
    if (type === 'object' && (value === null || typeof value !== 'object' || Array.isArray(value))) return { error: `${name} must be a JSON object` };
    if (type === 'array' && !Array.isArray(value)) return { error: `${name} must be a JSON list` };
  } else {
    value = text;
    if (field.minLength !== undefined && text.length < field.minLength) return { error: `${name} must have at least ${field.minLength} characters` };
    if (field.maxLength !== undefined && text.length > field.maxLength) return { error: `${name} must have at most ${field.maxLength} characters` };
    if (field.pattern !== undefined && !new RegExp(field.pattern, 'u').test(text)) return { error: `${name} must match ${field.pattern}` };
  }
  if (field.enum !== undefined && !field.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    return { error: `${name} must be one of ${field.enum.map((o) => JSON.stringify(o)).join(', ')}` };
  }
  return { value };
}

/** Every field parsed; errors by field name when any is wrong. */
export function collect(schema: JsonSchema, raws: Record<string, Raw>): { values: JsonObject; errors: Record<string, string> } {
  const required = new Set(schema.required ?? []);
  const values: JsonObject = {};
  const errors: Record<string, string> = {};
  for (const [name, field] of orderedFields(schema)) {
    const result = parseField(name, field, raws[name] ?? initialRaw(field), required.has(name));
    if (result.error !== undefined) errors[name] = result.error;
    else if (result.value !== undefined) values[name] = result.value;
  }
  return { values, errors };
}

interface SchemaFormProps {
  schema: JsonSchema;
  submitLabel: string;
  /** Sends the checked values; a rejection is shown by the caller. */
  onSubmit: (values: JsonObject) => Promise<void> | void;
  disabled?: boolean;
  /** Shown when the schema has no fields. */
  noFields?: ReactNode;
}

export function SchemaForm({ schema, submitLabel, onSubmit, disabled, noFields }: SchemaFormProps) {
  const formId = useId();
  const fields = orderedFields(schema);
  const required = new Set(schema.required ?? []);
  const [raws, setRaws] = useState<Record<string, Raw>>(() => Object.fromEntries(fields.map(([name, field]) => [name, initialRaw(field)])));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { values, errors: found } = collect(schema, raws);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      const first = Object.keys(found)[0]!;
      document.getElementById(`${formId}-${first}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      await onSubmit(values);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="schema-form" onSubmit={(e) => void submit(e)} noValidate>
      {fields.length === 0 && (noFields ?? <p className="muted">No parameters.</p>)}
      {fields.map(([name, field]) => {
        const id = `${formId}-${name}`;
        const type = typeOf(field);
        const error = errors[name];
        const describedBy = [field.description ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
        const common = { id, name, 'aria-invalid': error !== undefined, 'aria-describedby': describedBy, 'aria-required': required.has(name) };
        const set = (value: Raw) => setRaws((current) => ({ ...current, [name]: value }));
        let input: ReactNode;
        if (type === 'boolean') {
          input = <input {...common} type="checkbox" checked={raws[name] === true} onChange={(e) => set(e.target.checked)} />;
        } else if (field.enum !== undefined) {
          input = (
            <select {...common} value={String(raws[name] ?? '')} onChange={(e) => set(e.target.value)}>
              {!required.has(name) || field.default === undefined ? <option value="">—</option> : null}
              {field.enum.map((option) => (
                <option key={JSON.stringify(option)} value={String(option)}>
                  {String(option)}
                </option>
              ))}
            </select>
          );
        } else if (type === 'object' || type === 'array' || type === 'any') {
          input = <textarea {...common} rows={3} spellCheck={false} value={String(raws[name] ?? '')} onChange={(e) => set(e.target.value)} placeholder={type === 'array' ? '["a", "b"]' : type === 'object' ? '{"key": "value"}' : 'text or JSON'} />;
        } else {
          const inputType = field.secret === true ? 'password' : type === 'integer' || type === 'number' ? 'number' : 'text';
          input = (
            <input
              {...common}
              type={inputType}
              autoComplete={field.secret === true ? 'new-password' : 'off'}
              step={type === 'integer' ? 1 : type === 'number' ? 'any' : undefined}
              value={String(raws[name] ?? '')}
              onChange={(e) => set(e.target.value)}
            />
          );
        }
        return (
          <div key={name} className={`field${type === 'boolean' ? ' field-check' : ''}`}>
            <label htmlFor={id}>
              {name}
              {required.has(name) && <span className="required" aria-hidden="true"> *</span>}
              <span className="field-type">{field.secret === true ? 'secret' : type === 'any' ? '' : type}</span>
            </label>
            {input}
            {field.description && (
              <p id={`${id}-help`} className="help">
                {field.description}
              </p>
            )}
            {error !== undefined && (
              <p id={`${id}-error`} className="field-error" role="alert">
                {error}
              </p>
            )}
          </div>
        );
      })}
      <button type="submit" disabled={disabled === true || busy}>
        {busy ? 'Sending…' : submitLabel}
      </button>
    </form>
  );
}
