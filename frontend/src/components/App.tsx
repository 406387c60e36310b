import { ReactFlowProvider } from "@xyflow/react";
import { useEffect } from "react";
import { parseClipboard, serializeClipboard } from "../lib/clipboard";
import {
  addNote,
  announce,
  autoLayout,
  copySelection,
  deleteSelection,
  duplicateSelection,
  fitAll,
  hasUnsavedEdits,
  pasteDocument,
  redoEdit,
  saveNow,
  selectAll,
  selectOnly,
  undoEdit,
  useEditor,
} from "../state/store";
import { Canvas } from "./Canvas";
import { ConfigPanel } from "./ConfigPanel";
import { ConflictDialog, FindDialog, HelpDialog, ImportErrorsDialog, ProblemsDialog, PublishDialog, TestRunDialog, VersionsDialog } from "./Dialogs";
import { Palette } from "./Palette";
import { RunBar } from "./RunPanel";
import { Toasts } from "./Toasts";
import { TopBar } from "./TopBar";
import { openDialog, useUi } from "./ui";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

function dialogOpen(): boolean {
  return !!document.querySelector("dialog[open]");
}

/** Close open "More" menus; true when one was open. */
function closeMenus(except?: EventTarget | null): boolean {
  let closed = false;
  document.querySelectorAll<HTMLDetailsElement>("details.bt-menu[open]").forEach((menu) => {
    if (except instanceof Node && menu.contains(except)) return;
    menu.open = false;
    closed = true;
  });
  return closed;
}

function viewportCenter(): { x: number; y: number } | undefined {
  const { flow } = useEditor.getState();
  const pane = document.querySelector(".bt-canvas")?.getBoundingClientRect();
  if (!flow || !pane) return undefined;
  return flow.screenToFlowPosition({ x: pane.left + pane.width / 3, y: pane.top + pane.height / 3 });
}

function onKeyDown(event: KeyboardEvent): void {
  if (isTyping(event.target) || dialogOpen() || event.defaultPrevented) return;
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  const { readOnly, flow } = useEditor.getState();
  const run = (action: () => void) => {
    event.preventDefault();
    action();
  };
  if (mod && key === "k") return run(() => openDialog("find"));
  if (mod && key === "s") return run(() => void saveNow());
  if (mod && key === "a") return run(selectAll);
  if (!mod && !event.altKey && event.key === "?") return run(() => openDialog("help"));
  if (!mod && event.shiftKey && event.code === "Digit1") return run(() => fitAll());
  if (event.key === "Escape") return run(() => (closeMenus() ? undefined : selectOnly([])));
  if (!mod && (event.key === "+" || event.key === "=")) return run(() => void flow?.zoomIn({ duration: 150 }));
  if (!mod && (event.key === "-" || event.key === "_")) return run(() => void flow?.zoomOut({ duration: 150 }));
  if (readOnly) return;
  if (mod && key === "z" && !event.shiftKey) return run(undoEdit);
  if ((mod && key === "z" && event.shiftKey) || (mod && key === "y")) return run(redoEdit);
  if (mod && key === "d") return run(duplicateSelection);
  if (!mod && (event.key === "Delete" || event.key === "Backspace")) return run(deleteSelection);
  if (!mod && event.shiftKey && key === "l") return run(autoLayout);
  if (!mod && !event.shiftKey && key === "n") {
    const at = viewportCenter();
    return run(() => addNote(at ? { x: Math.round(at.x), y: Math.round(at.y) } : { x: 0, y: 0 }));
  }
}

/* Copy and paste go through the page's clipboard events, which need no
 * permission prompt and carry plain text (graph JSON) between workflows,
 * tabs and other programs. */
function onCopy(event: ClipboardEvent, cut: boolean): void {
  if (isTyping(event.target) || dialogOpen()) return;
  const doc = copySelection();
  if (!doc || !event.clipboardData) return;
  event.preventDefault();
  event.clipboardData.setData("text/plain", serializeClipboard(doc));
  const count = doc.nodes.length + (doc.ui?.notes?.length ?? 0);
  if (cut && !useEditor.getState().readOnly) {
    deleteSelection();
    announce(`Cut ${count} item${count > 1 ? "s" : ""}.`);
  } else announce(`Copied ${count} item${count > 1 ? "s" : ""}.`);
}

function onPaste(event: ClipboardEvent): void {
  if (isTyping(event.target) || dialogOpen() || useEditor.getState().readOnly) return;
  const text = event.clipboardData?.getData("text/plain") ?? "";
  const doc = parseClipboard(text);
  if (!doc) return;
  event.preventDefault();
  const s = useEditor.getState();
  // Pasting over the originals (same workflow) offsets the copy; otherwise it lands in view.
  const overlaps = doc.nodes.some((n) => s.nodes.some((m) => m.id === n.id));
  const count = pasteDocument(doc, overlaps ? { offset: 40 } : { at: viewportCenter() });
  if (count) announce(`Pasted ${count} item${count > 1 ? "s" : ""}.`);
}

export function App() {
  const loadState = useEditor((s) => s.loadState);
  const loadError = useEditor((s) => s.loadError);
  const readOnly = useEditor((s) => s.readOnly);
  const paletteOpen = useUi((s) => s.paletteOpen);
  const panelOpen = useUi((s) => s.panelOpen);

  useEffect(() => {
    const copy = (e: ClipboardEvent) => onCopy(e, false);
    const cut = (e: ClipboardEvent) => onCopy(e, true);
    const beforeUnload = (e: BeforeUnloadEvent) => {
      if (!hasUnsavedEdits()) return;
      void saveNow();
      e.preventDefault();
    };
    const pointerDown = (e: PointerEvent) => closeMenus(e.target);
    window.addEventListener("keydown", onKeyDown);
    document.addEventListener("pointerdown", pointerDown);
    document.addEventListener("copy", copy);
    document.addEventListener("cut", cut);
    document.addEventListener("paste", onPaste);
    window.addEventListener("beforeunload", beforeUnload);
    return () => {
      window.removeEventListener("keydown", onKeyDown);
      document.removeEventListener("pointerdown", pointerDown);
      document.removeEventListener("copy", copy);
      document.removeEventListener("cut", cut);
      document.removeEventListener("paste", onPaste);
      window.removeEventListener("beforeunload", beforeUnload);
    };
  }, []);

  if (loadState === "loading") {
    return (
      <div className="bt-app bt-loading" aria-busy="true">
        <p role="status">Loading the workflow…</p>
      </div>
    );
  }
  if (loadState === "error") {
    return (
      <div className="bt-app bt-loading">
        <div role="alert" className="bt-load-error">
          <h2>The editor could not open this workflow</h2>
          <p>{loadError}</p>
          <button type="button" className="bt-button bt-primary" onClick={() => window.location.reload()}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  return (
    <ReactFlowProvider>
      <div className={`bt-app${readOnly ? " is-readonly" : ""}`}>
        <TopBar />
        <div className="bt-main">
          {!readOnly && paletteOpen && <Palette />}
          <section className="bt-stage" aria-label="Workflow canvas">
            <Canvas />
            <RunBar />
          </section>
          {panelOpen && (
            <aside className="bt-panel" aria-label="Node settings">
              <ConfigPanel />
            </aside>
          )}
        </div>
        <Toasts />
        <HelpDialog />
        <FindDialog />
        <ConflictDialog />
        <PublishDialog />
        <TestRunDialog />
        <ImportErrorsDialog />
        <ProblemsDialog />
        <VersionsDialog />
      </div>
    </ReactFlowProvider>
  );
}
