import { useEffect, useId, useState, type ReactNode } from "react";
import { fieldKind, fieldLabel, isCredentialField, type FieldSchema } from "../lib/schema";
import type { Suggestion } from "../lib/suggestions";
import type { JSONObject, JSONValue } from "../lib/types";
import { CredentialPicker } from "./CredentialPicker";
import { TemplateInput } from "./TemplateInput";

export interface FormContext {
  disabled: boolean;
  suggestions: Suggestion[];
  /** Fields holding a bare expression (no braces). */
  expressionFields: string[];
  /** Problems by field path, e.g. "config.prompt". */
  errors: Record<string, string[]>;
  /** Template suggestions and credential pickers are off in the run-input form. */
  templates: boolean;
  idPrefix: string;
}

interface SchemaFormProps {
  schema: FieldSchema;
  value: JSONObject;
  onChange: (value: JSONObject, field: string) => void;
  context: FormContext;
  /** Path of this object, for error lookup ("config"). */
  path: string;
}

/** A form generated from a (normalised) JSON Schema object. Empty optional
 * fields are removed from the value, so the server's defaults apply. */
export function SchemaForm({ schema, value, onChange, context, path }: SchemaFormProps) {
  const properties = (schema.properties ?? {}) as Record<string, FieldSchema>;
  const required = new Set<string>(Array.isArray(schema.required) ? schema.required : []);
  const names = Object.keys(properties);
  if (names.length === 0) return <p className="bt-muted">This node has no settings.</p>;
  return (
    <div className="bt-form">
      {names.map((name) => (
        <Field
          key={name}
          name={name}
          schema={properties[name]}
          required={required.has(name)}
          value={value?.[name]}
          path={`${path}.${name}`}
          context={context}
          onChange={(next) => {
            const out = { ...(value ?? {}) };
            if (next === undefined) delete out[name];
            else out[name] = next;
            onChange(out, name);
          }}
        />
      ))}
    </div>
  );
}

interface FieldProps {
  name: string;
  schema: FieldSchema;
  required: boolean;
  value: JSONValue | undefined;
  path: string;
  context: FormContext;
  onChange: (value: JSONValue | undefined) => void;
}

function Field(props: FieldProps) {
  const { name, schema, required, value, path, context } = props;
  const id = `${context.idPrefix}-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const errors = context.errors[path] ?? [];
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = [schema.description ? helpId : "", errors.length ? errorId : ""].filter(Boolean).join(" ") || undefined;
  const kind = fieldKind(name, schema);
  const label = fieldLabel(name, schema);
  const control = renderControl(props, kind, id, describedBy, errors.length > 0);
  const grouped = kind === "object" || kind === "objectList" || kind === "stringList" || kind === "boolean";
  const labelNode = (
    <>
      {label}
      {required && <span className="bt-required" aria-hidden="true"> *</span>}
      {required && <span className="bt-visually-hidden"> (required)</span>}
    </>
  );
  return (
    <div className={`bt-field kind-${kind}${errors.length ? " has-error" : ""}`} data-field={path}>
      {grouped ? (
        kind === "boolean" ? (
          control
        ) : (
          <fieldset aria-describedby={describedBy}>
            <legend>{labelNode}</legend>
            {control}
          </fieldset>
        )
      ) : (
        <>
          <label htmlFor={id}>{labelNode}</label>
          {control}
        </>
      )}
      {schema.description && (
        <p id={helpId} className="bt-help">
          {schema.description}
        </p>
      )}
      {errors.length > 0 && (
        <p id={errorId} className="bt-field-error" role="alert">
          {label} {errors.join("; ")}
        </p>
      )}
      {value === undefined && schema.default !== undefined && kind !== "boolean" && kind !== "object" && (
        <p className="bt-help bt-default">Default: {JSON.stringify(schema.default)}</p>
      )}
    </div>
  );
}

function renderControl(props: FieldProps, kind: string, id: string, describedBy: string | undefined, invalid: boolean): ReactNode {
  const { name, schema, value, onChange, context, path, required } = props;
  const disabled = context.disabled;
  if (context.templates && isCredentialField(name, schema) && kind === "string") {
    return (
      <CredentialPicker id={id} value={typeof value === "string" ? value : ""} onChange={(v) => onChange(v || undefined)} disabled={disabled} describedBy={describedBy} />
    );
  }
  switch (kind) {
    case "enum": {
      const options = schema.enum as (string | number)[];
      return (
        <select
          id={id}
          value={value === undefined || value === null ? "" : String(value)}
          disabled={disabled}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          onChange={(e) => {
            const picked = options.find((o) => String(o) === e.target.value);
            onChange(picked === undefined ? undefined : picked);
          }}
        >
          <option value="">{required ? "Choose…" : schema.default !== undefined ? `Default (${String(schema.default)})` : "—"}</option>
          {options.map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      );
    }
    case "boolean":
      return (
        <label className="bt-check" htmlFor={id}>
          <input
            id={id}
            type="checkbox"
            checked={value === undefined ? !!schema.default : !!value}
            disabled={disabled}
            aria-describedby={describedBy}
            onChange={(e) => onChange(e.target.checked)}
          />
          {fieldLabel(name, schema)}
        </label>
      );
    case "number":
    case "integer":
      return <NumberInput id={id} value={value} integer={kind === "integer"} schema={schema} disabled={disabled} describedBy={describedBy} invalid={invalid} onChange={onChange} />;
    case "string":
    case "text": {
      const text = typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
      if (!context.templates) {
        return kind === "text" ? (
          <textarea id={id} rows={3} value={text} disabled={disabled} aria-describedby={describedBy} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />
        ) : (
          <input id={id} type="text" value={text} disabled={disabled} aria-describedby={describedBy} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />
        );
      }
      return (
        <TemplateInput
          id={id}
          value={text}
          multiline={kind === "text"}
          bare={context.expressionFields.includes(name) || name === "condition"}
          suggestions={context.suggestions}
          disabled={disabled}
          describedBy={describedBy}
          invalid={invalid}
          onChange={(v) => onChange(v === "" ? undefined : v)}
        />
      );
    }
    case "stringList":
      return <StringList id={id} value={value} disabled={disabled} label={fieldLabel(name, schema)} onChange={onChange} />;
    case "object":
      return (
        <SchemaForm
          schema={schema}
          value={(value && typeof value === "object" && !Array.isArray(value) ? value : {}) as JSONObject}
          path={path}
          context={context}
          onChange={(next) => onChange(Object.keys(next).length ? next : undefined)}
        />
      );
    case "objectList":
      return <ObjectList id={id} schema={schema} value={value} path={path} context={context} label={fieldLabel(name, schema)} onChange={onChange} />;
    default:
      return <JsonInput id={id} value={value} disabled={disabled} describedBy={describedBy} onChange={onChange} />;
  }
}

function NumberInput(props: {
  id: string;
  value: JSONValue | undefined;
  integer: boolean;
  schema: FieldSchema;
  disabled: boolean;
  describedBy?: string;
  invalid: boolean;
  onChange: (v: JSONValue | undefined) => void;
}) {
  const { id, value, integer, schema, disabled, describedBy, invalid, onChange } = props;
  const [text, setText] = useState(value === undefined || value === null ? "" : String(value));
  useEffect(() => {
    if (String(value ?? "") !== text && Number(text) !== value) setText(value === undefined || value === null ? "" : String(value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <input
      id={id}
      type="number"
      inputMode={integer ? "numeric" : "decimal"}
      step={integer ? 1 : "any"}
      min={schema.minimum ?? schema.exclusiveMinimum}
      max={schema.maximum ?? schema.exclusiveMaximum}
      placeholder={schema.default !== undefined ? String(schema.default) : undefined}
      value={text}
      disabled={disabled}
      aria-describedby={describedBy}
      aria-invalid={invalid || undefined}
      onChange={(e) => {
        setText(e.target.value);
        if (e.target.value.trim() === "") return onChange(undefined);
        const n = Number(e.target.value);
        if (Number.isFinite(n)) onChange(n);
      }}
    />
  );
}

function StringList(props: { id: string; value: JSONValue | undefined; disabled: boolean; label: string; onChange: (v: JSONValue | undefined) => void }) {
  const { id, disabled, label, onChange } = props;
  const items = Array.isArray(props.value) ? props.value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))) : [];
  const set = (next: string[]) => onChange(next.length ? next : undefined);
  return (
    <div className="bt-list">
      {items.map((item, i) => (
        <div className="bt-list-row" key={i}>
          <input
            id={i === 0 ? id : `${id}-${i}`}
            type="text"
            value={item}
            disabled={disabled}
            aria-label={`${label} ${i + 1}`}
            onChange={(e) => set(items.map((x, j) => (j === i ? e.target.value : x)))}
          />
          {!disabled && (
            <button type="button" className="bt-icon-button" aria-label={`Remove ${label} ${i + 1}`} onClick={() => set(items.filter((_, j) => j !== i))}>
              ×
            </button>
          )}
        </div>
      ))}
      {!disabled && (
        <button type="button" className="bt-button bt-small" onClick={() => set([...items, ""])}>
          + Add {label.toLowerCase()}
        </button>
      )}
    </div>
  );
}

function ObjectList(props: {
  id: string;
  schema: FieldSchema;
  value: JSONValue | undefined;
  path: string;
  context: FormContext;
  label: string;
  onChange: (v: JSONValue | undefined) => void;
}) {
  const { schema, path, context, label, onChange } = props;
  const items = (Array.isArray(props.value) ? props.value : []) as JSONObject[];
  const itemSchema = schema.items as FieldSchema;
  const set = (next: JSONObject[]) => onChange(next.length ? next : undefined);
  return (
    <div className="bt-list">
      {items.map((item, i) => (
        <div className="bt-list-item" key={i} role="group" aria-label={`${label} ${i + 1}`}>
          <SchemaForm schema={itemSchema} value={item ?? {}} path={`${path}.${i}`} context={context} onChange={(next) => set(items.map((x, j) => (j === i ? next : x)))} />
          {!context.disabled && (
            <button type="button" className="bt-button bt-small bt-danger-text" onClick={() => set(items.filter((_, j) => j !== i))}>
              Remove {label.toLowerCase()} {i + 1}
            </button>
          )}
        </div>
      ))}
      {!context.disabled && (
        <button type="button" className="bt-button bt-small" onClick={() => set([...items, {}])}>
          + Add {label.toLowerCase()}
        </button>
      )}
    </div>
  );
}

/** Free-form values edited as JSON; the value changes only when the text parses. */
export function JsonInput(props: { id: string; value: JSONValue | undefined; disabled: boolean; describedBy?: string; onChange: (v: JSONValue | undefined) => void; rows?: number }) {
  const { id, value, disabled, describedBy, onChange } = props;
  const format = (v: JSONValue | undefined) => (v === undefined ? "" : JSON.stringify(v, null, 2));
  const [text, setText] = useState(format(value));
  const [error, setError] = useState<string | null>(null);
  const errorId = useId();
  useEffect(() => {
    let current: unknown;
    try {
      current = text.trim() ? JSON.parse(text) : undefined;
    } catch {
      current = Symbol("invalid");
    }
    if (JSON.stringify(current) !== JSON.stringify(value)) {
      setText(format(value));
      setError(null);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <>
      <textarea
        id={id}
        className="bt-json"
        rows={props.rows ?? 5}
        value={text}
        disabled={disabled}
        spellCheck={false}
        aria-describedby={[describedBy, error ? errorId : ""].filter(Boolean).join(" ") || undefined}
        aria-invalid={error ? true : undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setError(null);
            return onChange(undefined);
          }
          try {
            onChange(JSON.parse(e.target.value));
            setError(null);
          } catch (err) {
            setError(`Not valid JSON yet: ${(err as Error).message}`);
          }
        }}
      />
      {error && (
        <p id={errorId} className="bt-field-error">
          {error}
        </p>
      )}
    </>
  );
}
