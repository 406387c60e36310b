import { useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { filterSuggestions, tokenAt, type Suggestion } from "../lib/suggestions";

interface TemplateInputProps {
  id: string;
  value: string;
  onChange: (value: string) => void;
  suggestions: Suggestion[];
  /** A bare expression (no braces), like `condition`. */
  bare?: boolean;
  multiline?: boolean;
  disabled?: boolean;
  describedBy?: string;
  invalid?: boolean;
  placeholder?: string;
}

/** A text field that suggests `trigger...`, `input` and `nodes.<id>.output...`
 * paths: inside `{{ }}` for templates, anywhere for bare expressions.
 * ARIA combobox: arrows move, Enter or Tab inserts, Escape closes. */
export function TemplateInput(props: TemplateInputProps) {
  const { id, value, onChange, suggestions, bare, multiline, disabled, describedBy, invalid, placeholder } = props;
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const listId = useId();
  const [caret, setCaret] = useState<number | null>(null);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);

  const token = caret === null ? null : tokenAt(value, caret, !!bare);
  const options = useMemo(
    () => (token && !dismissed ? filterSuggestions(suggestions, token.token) : []),
    [token?.token, token?.start, dismissed, suggestions],
  );
  const open = options.length > 0 && !disabled;

  const insert = (s: Suggestion) => {
    if (!token) return;
    const before = value.slice(0, token.start);
    const after = value.slice(caret ?? value.length);
    const needsClose = !bare && !after.trimStart().startsWith("}}");
    const text = `${before}${s.path}${needsClose ? " }}" : ""}`;
    onChange(text + after);
    const position = before.length + s.path.length;
    requestAnimationFrame(() => {
      ref.current?.setSelectionRange(position, position);
      setCaret(position);
    });
    setDismissed(true);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (!open) return;
    if (event.key === "ArrowDown") setActive((a) => (a + 1) % options.length);
    else if (event.key === "ArrowUp") setActive((a) => (a - 1 + options.length) % options.length);
    else if (event.key === "Enter" || event.key === "Tab") insert(options[Math.min(active, options.length - 1)]);
    else if (event.key === "Escape") setDismissed(true);
    else return;
    event.preventDefault();
    event.stopPropagation();
  };

  const common = {
    id,
    ref,
    value,
    disabled,
    placeholder,
    role: "combobox",
    "aria-autocomplete": "list" as const,
    "aria-expanded": open,
    "aria-controls": listId,
    "aria-activedescendant": open ? `${listId}-${active}` : undefined,
    "aria-describedby": describedBy,
    "aria-invalid": invalid || undefined,
    spellCheck: false,
    onChange: (event: { target: { value: string; selectionStart: number | null } }) => {
      onChange(event.target.value);
      setCaret(event.target.selectionStart);
      setDismissed(false);
      setActive(0);
    },
    onKeyDown,
    onKeyUp: (event: KeyboardEvent) => {
      if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) setCaret((event.target as HTMLInputElement).selectionStart);
    },
    onClick: () => setCaret(ref.current?.selectionStart ?? null),
    onBlur: () => setTimeout(() => setCaret(null), 150),
  };

  return (
    <div className="bt-template">
      {multiline ? <textarea rows={4} {...common} /> : <input type="text" {...common} />}
      <ul id={listId} role="listbox" className="bt-suggestions" hidden={!open} aria-label="Suggestions">
        {open &&
          options.map((option, index) => (
            <li
              key={option.path}
              id={`${listId}-${index}`}
              role="option"
              aria-selected={index === active}
              className={index === active ? "is-active" : undefined}
              onMouseDown={(event) => {
                event.preventDefault();
                insert(option);
              }}
            >
              <code>{option.path}</code>
              <span>{option.detail}</span>
            </li>
          ))}
      </ul>
    </div>
  );
}
