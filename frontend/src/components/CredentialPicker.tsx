import { useEffect, useState } from "react";
import type { Credential } from "../lib/api";
import { useEditor } from "../state/store";

type Loaded = { state: "loading" } | { state: "ok"; list: Credential[] } | { state: "unavailable" };

let cache: Promise<Credential[]> | null = null;

/** Credentials of the workspace; non-admins may not list them (403/404):
 * then the picker is a free text field for a credential name. */
function loadCredentials(): Promise<Credential[]> {
  cache ??= useEditor.getState().api.credentials();
  return cache;
}

export function CredentialPicker(props: { id: string; value: string; onChange: (v: string) => void; disabled: boolean; describedBy?: string }) {
  const { id, value, onChange, disabled, describedBy } = props;
  const [loaded, setLoaded] = useState<Loaded>({ state: "loading" });
  useEffect(() => {
    let live = true;
    loadCredentials().then(
      (list) => live && setLoaded({ state: "ok", list }),
      () => live && setLoaded({ state: "unavailable" }),
    );
    return () => {
      live = false;
    };
  }, []);

  if (loaded.state !== "ok" || loaded.list.length === 0) {
    return (
      <>
        <input id={id} type="text" value={value} disabled={disabled} aria-describedby={describedBy} placeholder="Credential name" onChange={(e) => onChange(e.target.value)} />
        {loaded.state === "unavailable" && <p className="bt-help">Type the name of a workspace credential (ask an admin for the exact name).</p>}
        {loaded.state === "ok" && <p className="bt-help">This workspace has no credentials yet: an admin can add them under Credentials.</p>}
      </>
    );
  }
  const known = loaded.list.some((c) => c.name === value || String(c.id) === value);
  return (
    <select id={id} value={value} disabled={disabled} aria-describedby={describedBy} onChange={(e) => onChange(e.target.value)}>
      <option value="">Choose a credential…</option>
      {!known && value && <option value={value}>{value} (not found)</option>}
      {loaded.list.map((c) => (
        <option key={String(c.id)} value={c.name} disabled={c.disabled}>
          {c.name}
          {c.kind ? ` · ${c.kind}` : ""}
          {c.disabled ? " (disabled)" : ""}
        </option>
      ))}
    </select>
  );
}
