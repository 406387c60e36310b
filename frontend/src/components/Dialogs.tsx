import { useEffect, useMemo, useState } from "react";
import { ApiError, describeError } from "../lib/api";
import { publishedMessage } from "../lib/versions";
import { isBatonNode } from "../lib/graph";
import { normalizeSchema } from "../lib/schema";
import type { JSONObject, JSONValue } from "../lib/types";
import {
  announce,
  errorCount,
  keepMineAsCopy,
  refreshPublished,
  reloadTheirs,
  saveNow,
  selectOnly,
  startTestRun,
  useEditor,
  validateOnServer,
  currentGraph,
} from "../state/store";
import { Dialog } from "./Dialog";
import { ProblemList } from "./ProblemList";
import { JsonInput, SchemaForm } from "./SchemaForm";
import { closeDialog, useUi } from "./ui";

export const SHORTCUTS: [string, string][] = [
  ["Ctrl/⌘ + Z", "Undo"],
  ["Ctrl/⌘ + Shift + Z, Ctrl + Y", "Redo"],
  ["Ctrl/⌘ + C / X / V", "Copy, cut, paste (as JSON, also between workflows)"],
  ["Ctrl/⌘ + D", "Duplicate the selection"],
  ["Ctrl/⌘ + A", "Select everything"],
  ["Delete or Backspace", "Delete the selection"],
  ["Shift + drag", "Select with a box"],
  ["Shift + click", "Add to the selection"],
  ["Ctrl/⌘ + K", "Find a node"],
  ["Shift + L", "Tidy up (auto-layout)"],
  ["Shift + 1", "Fit the whole workflow in view"],
  ["+ / −", "Zoom in / out"],
  ["N", "Add a sticky note"],
  ["Ctrl/⌘ + S", "Save now"],
  ["Tab, Enter, arrow keys", "Move between nodes, select one, move it"],
  ["Escape", "Clear the selection, close a dialog"],
  ["?", "This help"],
];

export function HelpDialog() {
  const open = useUi((s) => s.dialog === "help");
  return (
    <Dialog open={open} title="Keyboard shortcuts" onClose={closeDialog}>
      <table className="bt-shortcuts">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">Does</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map(([keys, does]) => (
            <tr key={keys}>
              <td>
                <kbd>{keys}</kbd>
              </td>
              <td>{does}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}

export function FindDialog() {
  const open = useUi((s) => s.dialog === "find");
  return (
    <Dialog open={open} title="Find a node" onClose={closeDialog}>
      {open && <FindBody />}
    </Dialog>
  );
}

function FindBody() {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const nodes = useEditor((s) => s.nodes);
  const catalog = useEditor((s) => s.catalog);
  const results = useMemo(() => {
    const q = query.trim().toLowerCase();
    return nodes
      .filter(isBatonNode)
      .filter((n) => {
        if (!q) return true;
        const label = catalog.get(n.data.spec.type)?.label ?? "";
        return [n.id, n.data.spec.name ?? "", n.data.spec.type, label].some((t) => t.toLowerCase().includes(q));
      })
      .slice(0, 50);
  }, [nodes, catalog, query]);
  const pick = (id: string) => {
    const s = useEditor.getState();
    const node = s.nodes.find((n) => n.id === id);
    closeDialog();
    if (!node) return;
    selectOnly([id]);
    const w = node.measured?.width ?? 220;
    const h = node.measured?.height ?? 80;
    void s.flow?.setCenter(node.position.x + w / 2, node.position.y + h / 2, { zoom: Math.max(s.flow.getZoom(), 0.9), duration: 300 });
  };
  const current = Math.min(active, results.length - 1);
  return (
    <div className="bt-find">
      <label htmlFor="bt-find-input" className="bt-visually-hidden">
        Node name, id or type
      </label>
      <input
        id="bt-find-input"
        type="search"
        role="combobox"
        aria-expanded={results.length > 0}
        aria-controls="bt-find-results"
        aria-activedescendant={results.length ? `bt-find-${current}` : undefined}
        placeholder="Name, id or type…"
        value={query}
        data-autofocus
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") setActive((a) => Math.min(a + 1, results.length - 1));
          else if (e.key === "ArrowUp") setActive((a) => Math.max(a - 1, 0));
          else if (e.key === "Enter" && results[current]) pick(results[current].id);
          else return;
          e.preventDefault();
        }}
      />
      <ul id="bt-find-results" role="listbox" aria-label="Matching nodes" className="bt-find-results">
        {results.map((n, i) => (
          <li key={n.id} id={`bt-find-${i}`} role="option" aria-selected={i === current} className={i === current ? "is-active" : undefined} onMouseDown={(e) => { e.preventDefault(); pick(n.id); }}>
            <strong>{n.data.spec.name || catalog.get(n.data.spec.type)?.label || n.data.spec.type}</strong> <code>{n.id}</code>
            <span className="bt-muted"> {catalog.get(n.data.spec.type)?.label ?? n.data.spec.type}</span>
          </li>
        ))}
        {results.length === 0 && <li className="bt-muted">No node matches.</li>}
      </ul>
    </div>
  );
}

export function ConflictDialog() {
  const conflict = useEditor((s) => s.saveState === "conflict");
  const dismissed = useUi((s) => s.conflictDismissed);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      useUi.setState({ conflictDismissed: false });
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={conflict && !dismissed}
      role="alertdialog"
      title="Someone else changed this workflow"
      description="While you were editing, another person (or another tab) saved a newer draft. Your latest changes are not saved yet."
      onClose={() => useUi.setState({ conflictDismissed: true })}
    >
      <div className="bt-conflict-choices">
        <div>
          <button type="button" className="bt-button bt-primary" disabled={busy} data-autofocus onClick={() => run(reloadTheirs)}>
            Reload theirs
          </button>
          <p className="bt-help">Show the saved draft. Your unsaved changes are dropped.</p>
        </div>
        <div>
          <button
            type="button"
            className="bt-button"
            disabled={busy}
            onClick={() =>
              run(async () => {
                const url = await keepMineAsCopy();
                announce("Saved your version as a new workflow. Opening it…", "success");
                window.location.assign(url);
              })
            }
          >
            Keep mine as a copy
          </button>
          <p className="bt-help">Save your version as a new workflow and open it; this one stays as they saved it.</p>
        </div>
      </div>
      {error && (
        <p className="bt-field-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}

export function PublishDialog() {
  const open = useUi((s) => s.dialog === "publish");
  const needsReview = useEditor((s) => !!s.config.publishNeedsReview);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const errors = useEditor(errorCount);
  const serverValid = useEditor((s) => s.serverValid);
  const blocked = errors > 0 || serverValid === false;
  const action = needsReview ? "Submit for review" : "Publish";
  useEffect(() => {
    if (open) setError(null);
  }, [open]);
  const publish = async () => {
    setBusy(true);
    setError(null);
    try {
      await saveNow();
      const s = useEditor.getState();
      if (s.saveState !== "saved") throw new Error("Save the draft first (see the save state in the top bar).");
      await validateOnServer(currentGraph());
      if (errorCount(useEditor.getState()) > 0 || useEditor.getState().serverValid === false) throw new Error("Fix the problems listed before publishing.");
      const result = await s.api.publish(s.config.workflowId, note.trim());
      if (result.status === "published") {
        useEditor.setState({ publishedVersion: result.version ?? s.publishedVersion });
        void refreshPublished().catch(() => undefined); // new webhook URLs; the next load shows them otherwise
      }
      announce(publishedMessage(result), "success");
      setNote("");
      closeDialog();
    } catch (e) {
      // The server refused the graph: refresh its problems so the list above shows them.
      if (e instanceof ApiError && e.status === 400) void validateOnServer();
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} title="Publish this workflow" onClose={closeDialog}>
      {blocked ? (
        <>
          <p>The workflow has problems. Fix them before publishing:</p>
          <ProblemList onPick={closeDialog} />
        </>
      ) : needsReview ? (
        <p className="bt-muted">
          This workspace reviews publishing: your draft goes to an approver or an admin, who publishes it. Until then, runs, webhooks and schedules keep using the live version.
        </p>
      ) : (
        <p className="bt-muted">Publishing makes this draft a new numbered version, the one that webhooks, schedules and runs use.</p>
      )}
      <div className="bt-field">
        <label htmlFor="bt-publish-note">What changed? (note)</label>
        <textarea id="bt-publish-note" rows={3} maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />
      </div>
      {error && (
        <p className="bt-field-error" role="alert">
          {error}
        </p>
      )}
      <div className="bt-button-row">
        <button type="button" className="bt-button" onClick={closeDialog}>
          Cancel
        </button>
        <button type="button" className="bt-button bt-primary" disabled={busy || blocked} aria-disabled={busy || blocked} onClick={publish}>
          {busy ? (needsReview ? "Submitting…" : "Publishing…") : action}
        </button>
      </div>
    </Dialog>
  );
}

export function TestRunDialog() {
  const open = useUi((s) => s.dialog === "testRun");
  return (
    <Dialog open={open} title="Test run" onClose={closeDialog}>
      {open && <TestRunBody />}
    </Dialog>
  );
}

function TestRunBody() {
  const nodes = useEditor((s) => s.nodes);
  const catalog = useEditor((s) => s.catalog);
  const trigger = nodes.filter(isBatonNode).find((n) => n.data.spec.type === "trigger.manual") ?? nodes.filter(isBatonNode).find((n) => catalog.get(n.data.spec.type)?.is_trigger);
  const inputSchema = trigger?.data.spec.config?.input_schema;
  const schema = useMemo(
    () => (inputSchema && typeof inputSchema === "object" && !Array.isArray(inputSchema) ? normalizeSchema(inputSchema as JSONObject) : null),
    [inputSchema],
  );
  const hasFields = !!schema?.properties && Object.keys(schema.properties).length > 0;
  const [input, setInput] = useState<JSONValue | undefined>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await startTestRun(input ?? {});
      closeDialog();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  if (!trigger) return <p>Add a trigger (for example “Manual trigger”) first: the test run starts there.</p>;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <p className="bt-muted">Runs the current draft. The result shows on the canvas, step by step.</p>
      {hasFields ? (
        <SchemaForm
          schema={schema!}
          value={(input ?? {}) as JSONObject}
          path="input"
          onChange={(v) => setInput(v)}
          context={{ disabled: false, suggestions: [], expressionFields: [], errors: {}, templates: false, idPrefix: "run-input" }}
        />
      ) : (
        <div className="bt-field">
          <label htmlFor="bt-run-input">Input (JSON)</label>
          <JsonInput id="bt-run-input" value={input} disabled={false} onChange={setInput} />
          <p className="bt-help">Tip: describe the input in the trigger's “Input schema” to get a form here.</p>
        </div>
      )}
      {error && (
        <p className="bt-field-error" role="alert">
          {error}
        </p>
      )}
      <div className="bt-button-row">
        <button type="button" className="bt-button" onClick={closeDialog}>
          Cancel
        </button>
        <button type="submit" className="bt-button bt-primary" disabled={busy}>
          {busy ? "Starting…" : "Start test run"}
        </button>
      </div>
    </form>
  );
}

export function ImportErrorsDialog() {
  const open = useUi((s) => s.dialog === "importErrors");
  const errors = useUi((s) => s.importErrors);
  return (
    <Dialog open={open} role="alertdialog" title="This file cannot be imported" onClose={closeDialog}>
      <ul className="bt-problems">
        {errors.map((e, i) => (
          <li key={i} className="level-error">
            <span aria-hidden="true">✕</span> {e}
          </li>
        ))}
      </ul>
      <p className="bt-muted">Nothing was changed. Export a workflow from Baton to see the expected format.</p>
      <div className="bt-button-row">
        <button type="button" className="bt-button bt-primary" onClick={closeDialog}>
          OK
        </button>
      </div>
    </Dialog>
  );
}

export function ProblemsDialog() {
  const open = useUi((s) => s.dialog === "problems");
  return (
    <Dialog open={open} title="Problems" onClose={closeDialog}>
      <ProblemList onPick={closeDialog} />
    </Dialog>
  );
}

// The Versions dialog (list, restore into the draft) lives in its own module.
export { VersionsDialog } from "./Versions";
