import { useRef } from "react";
import { canRedo, canUndo } from "../lib/history";
import { checkImport } from "../lib/validation";
import {
  addNote,
  announce,
  autoLayout,
  currentGraph,
  errorCount,
  redoEdit,
  replaceGraph,
  undoEdit,
  useEditor,
  type SaveState,
} from "../state/store";
import { fitAfterReplace } from "./fitAfterReplace";
import { openDialog, useUi } from "./ui";
import { Presence } from "../live/Presence";

const SAVE_LABEL: Record<SaveState, string> = {
  saved: "Saved",
  saving: "Saving…",
  dirty: "Unsaved changes",
  conflict: "Conflict",
  error: "Not saved",
};

function SaveStatus() {
  const state = useEditor((s) => s.saveState);
  const error = useEditor((s) => s.saveError);
  const readOnly = useEditor((s) => s.readOnly);
  if (readOnly) return <span className="bt-save bt-save-readonly">Read-only</span>;
  return (
    <span className={`bt-save bt-save-${state}`} role="status" aria-live="polite" title={error ?? undefined}>
      <span aria-hidden="true">{state === "saved" ? "✓" : state === "saving" ? "⟳" : state === "conflict" || state === "error" ? "!" : "•"}</span>{" "}
      {SAVE_LABEL[state]}
      {state === "conflict" && (
        <button type="button" className="bt-link" onClick={() => useUi.setState({ conflictDismissed: false })}>
          Resolve
        </button>
      )}
      {state === "error" && error && <span className="bt-visually-hidden">: {error}</span>}
    </span>
  );
}

function ValidationSummary() {
  const errors = useEditor(errorCount);
  const warnings = useEditor((s) => Object.values(s.issuesByNode).flat().filter((i) => i.level === "warning").length + s.globalIssues.filter((i) => i.level === "warning").length);
  const label = errors ? `${errors} problem${errors > 1 ? "s" : ""}` : warnings ? `${warnings} warning${warnings > 1 ? "s" : ""}` : "No problems";
  return (
    <button type="button" className={`bt-button bt-validation ${errors ? "has-errors" : warnings ? "has-warnings" : "is-ok"}`} onClick={() => openDialog("problems")} aria-label={`Validation: ${label}. Show the list.`}>
      <span aria-hidden="true">{errors ? "✕" : warnings ? "⚠" : "✓"}</span> {label}
    </button>
  );
}

function downloadJson(name: string, value: unknown): void {
  const blob = new Blob([JSON.stringify(value, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `${name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-|-$/g, "") || "workflow"}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function importFile(file: File): Promise<void> {
  let value: unknown;
  try {
    value = JSON.parse(await file.text());
  } catch {
    useUi.setState({ dialog: "importErrors", importErrors: ["The file is not valid JSON."] });
    return;
  }
  const { doc, errors } = checkImport(value, useEditor.getState().catalog);
  if (!doc) {
    useUi.setState({ dialog: "importErrors", importErrors: errors });
    return;
  }
  replaceGraph(doc);
  fitAfterReplace();
  announce(`Imported ${doc.nodes.length} nodes from ${file.name}. Undo (Ctrl+Z) brings the previous draft back.`, "success");
}

const onRevision = (revision: number, by: string) =>
  announce(`${by} saved revision ${revision} of this draft. Reload to see it; your next save would conflict.`);

export function TopBar() {
  const name = useEditor((s) => s.workflowName);
  const config = useEditor((s) => s.config);
  const readOnly = useEditor((s) => s.readOnly);
  const published = useEditor((s) => s.publishedVersion);
  const revision = useEditor((s) => s.revision);
  const undoable = useEditor((s) => canUndo(s.history));
  const redoable = useEditor((s) => canRedo(s.history));
  const errors = useEditor(errorCount);
  const serverValid = useEditor((s) => s.serverValid);
  const paletteOpen = useUi((s) => s.paletteOpen);
  const panelOpen = useUi((s) => s.panelOpen);
  const fileInput = useRef<HTMLInputElement>(null);
  const menu = useRef<HTMLDetailsElement>(null);
  const closeMenu = () => menu.current?.removeAttribute("open");
  const invalid = errors > 0 || serverValid === false;

  return (
    <header className="bt-topbar">
      <div className="bt-topbar-title">
        {!readOnly && (
          <button type="button" className="bt-icon-button" aria-pressed={paletteOpen} aria-label={paletteOpen ? "Hide the palette" : "Show the palette"} onClick={() => useUi.setState({ paletteOpen: !paletteOpen })}>
            ☰
          </button>
        )}
        <h1>{name || "Workflow"}</h1>
        <span className="bt-version">{config.mode === "run" ? "Run view" : published ? `Draft · v${published} published` : "Draft · never published"}</span>
        <SaveStatus />
        {config.mode === "edit" && (
          <Presence workflowId={config.workflowId} me={config.user.id} revision={revision} onRevision={onRevision} />
        )}
      </div>
      <div className="bt-toolbar" role="toolbar" aria-label="Editor tools">
        {!readOnly && (
          <>
            <button type="button" className="bt-icon-button" aria-label="Undo" title="Undo (Ctrl+Z)" disabled={!undoable} onClick={undoEdit}>
              ↶
            </button>
            <button type="button" className="bt-icon-button" aria-label="Redo" title="Redo (Ctrl+Shift+Z)" disabled={!redoable} onClick={redoEdit}>
              ↷
            </button>
            <button type="button" className="bt-button" title="Auto-layout (Shift+L)" onClick={autoLayout}>
              Tidy up
            </button>
            <button
              type="button"
              className="bt-button"
              title="Add a sticky note (N)"
              onClick={() => {
                const flow = useEditor.getState().flow;
                const pane = document.querySelector(".bt-canvas")?.getBoundingClientRect();
                const p = flow && pane ? flow.screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + 60 }) : { x: 0, y: 0 };
                addNote({ x: Math.round(p.x), y: Math.round(p.y) });
              }}
            >
              Add note
            </button>
          </>
        )}
        <button type="button" className="bt-button" title="Find a node (Ctrl+K)" onClick={() => openDialog("find")}>
          Find
        </button>
        {config.mode !== "run" && <ValidationSummary />}
        <details className="bt-menu" ref={menu}>
          <summary className="bt-button" aria-label="More actions">
            More <span aria-hidden="true">▾</span>
          </summary>
          <div className="bt-menu-items">
            <button type="button" className="bt-button" onClick={() => { closeMenu(); downloadJson(name, currentGraph()); }}>
              Export
            </button>
            {!readOnly && (
              <button type="button" className="bt-button" onClick={() => { closeMenu(); fileInput.current?.click(); }}>
                Import
              </button>
            )}
            <button type="button" className="bt-button" onClick={() => { closeMenu(); openDialog("versions"); }}>
              Versions
            </button>
          </div>
        </details>
        {!readOnly && (
          <input
            ref={fileInput}
            type="file"
            accept=".json,application/json"
            className="bt-visually-hidden"
            tabIndex={-1}
            aria-label="Import workflow file"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void importFile(file);
              e.target.value = "";
            }}
          />
        )}
        <button type="button" className="bt-icon-button" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" onClick={() => openDialog("help")}>
          ?
        </button>
        {config.canRun && config.mode !== "run" && (
          <button type="button" className="bt-button bt-run" onClick={() => openDialog("testRun")}>
            <span aria-hidden="true">▶</span> Test run
          </button>
        )}
        {config.canPublish && config.canEdit && config.mode !== "run" && (
          <button
            type="button"
            className="bt-button bt-primary"
            aria-disabled={invalid}
            title={invalid ? "Fix the problems before publishing" : config.publishNeedsReview ? "Submit this draft for review" : "Publish this draft"}
            onClick={() => openDialog("publish")}
          >
            Publish{invalid ? " (blocked)" : ""}
          </button>
        )}
        <button type="button" className="bt-icon-button" aria-pressed={panelOpen} aria-label={panelOpen ? "Hide the settings panel" : "Show the settings panel"} onClick={() => useUi.setState({ panelOpen: !panelOpen })}>
          ⚙
        </button>
      </div>
    </header>
  );
}
