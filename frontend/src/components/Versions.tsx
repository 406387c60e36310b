import { useEffect, useId, useMemo, useRef, useState } from "react";
import { describeError, type WorkflowVersion } from "../lib/api";
import { graphSummary, restoreBlockedReason, restoredMessage, restoreQuestion, sameGraph, versionNumber } from "../lib/versions";
import { announce, currentGraph, replaceGraph, saveNow, useEditor } from "../state/store";
import { Dialog } from "./Dialog";
import { fitAfterReplace } from "./fitAfterReplace";
import { closeDialog, useUi } from "./ui";
import "./versions.css";

/** Restore version `n` into the draft: read it through the version endpoint,
 * put its graph on the canvas as one undoable edit, and save it through the
 * normal draft PATCH (with the revision), which makes a new revision.
 * Resolves "unchanged" when the draft already is that graph. */
export async function restoreVersion(n: number): Promise<"restored" | "unchanged"> {
  const before = useEditor.getState();
  const blocked = restoreBlockedReason(before);
  if (blocked) throw new Error(blocked);
  const version = await before.api.version(before.config.workflowId, n);
  const graph = version?.graph;
  if (!graph || typeof graph !== "object" || !Array.isArray(graph.nodes)) throw new Error(`Version ${n} holds no graph to restore.`);
  const again = restoreBlockedReason(useEditor.getState());
  if (again) throw new Error(again);
  if (sameGraph(graph, currentGraph())) {
    announce(`The draft already matches version ${n}: nothing changed.`);
    return "unchanged";
  }
  replaceGraph(structuredClone(graph));
  const seq = useEditor.getState().editSeq;
  fitAfterReplace();
  await saveNow();
  const after = useEditor.getState();
  const saved = after.savedSeq >= seq;
  announce(restoredMessage(n, { saved, revision: after.revision, error: after.saveError }), saved ? "success" : "error");
  return "restored";
}

export function VersionsDialog() {
  const open = useUi((s) => s.dialog === "versions");
  const readOnly = useEditor((s) => s.readOnly);
  return (
    <Dialog
      open={open}
      title="Versions"
      className="bt-dialog-versions"
      description={
        readOnly
          ? "Every publish makes a numbered version; runs, webhooks and schedules use the live one."
          : "Every publish makes a numbered version; runs, webhooks and schedules use the live one. Restoring a version copies its graph into the draft: publish again to make it live."
      }
      onClose={closeDialog}
    >
      {open && <VersionsBody />}
    </Dialog>
  );
}

interface ListState {
  versions: WorkflowVersion[];
  page: number;
  hasMore: boolean;
  loading: boolean;
  error: string | null;
}

function VersionsBody() {
  const api = useEditor((s) => s.api);
  const id = useEditor((s) => s.config.workflowId);
  const readOnly = useEditor((s) => s.readOnly);
  const saveState = useEditor((s) => s.saveState);
  const live = useEditor((s) => s.publishedVersion);
  // The draft as it is when the dialog opens (the canvas cannot change while it is open).
  const draft = useMemo(() => currentGraph(), []);
  const [list, setList] = useState<ListState>({ versions: [], page: 0, hasMore: false, loading: true, error: null });
  const [confirming, setConfirming] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [focusAfter, setFocusAfter] = useState<string | null>(null);
  const prefix = useId();

  const load = (page: number) => {
    setList((l) => ({ ...l, loading: true, error: null }));
    api.versionsPage(id, page).then(
      ({ versions, hasMore }) =>
        setList((l) => ({ versions: page === 1 ? versions : [...l.versions, ...versions], page, hasMore, loading: false, error: null })),
      (e) => setList((l) => ({ ...l, loading: false, error: describeError(e) })),
    );
  };
  useEffect(() => load(1), [api, id]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (!focusAfter) return;
    document.getElementById(focusAfter)?.focus();
    setFocusAfter(null);
  }, [focusAfter]);

  const blocked = restoreBlockedReason({ readOnly, saveState });
  const restore = async (n: number) => {
    setBusy(true);
    setError(null);
    try {
      await restoreVersion(n);
      setConfirming(null);
      closeDialog();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  if (list.error && list.versions.length === 0) {
    return (
      <p className="bt-field-error" role="alert">
        {list.error}
      </p>
    );
  }
  if (list.page === 0) return <p aria-busy="true">Loading versions…</p>;
  if (list.versions.length === 0) return <p className="bt-empty">Not published yet. Publish the draft to create version 1.</p>;
  return (
    <>
      {!readOnly && blocked && <p className="bt-help">{blocked}</p>}
      <ol className="bt-versions" aria-label="Published versions, newest first">
        {list.versions.map((v, i) => {
          const n = versionNumber(v);
          const titleId = `${prefix}-v${n ?? `i${i}`}`;
          const isLive = n !== null && n === live;
          const matchesDraft = sameGraph(v.graph ?? null, draft);
          return (
            <li key={n ?? `i${i}`} className="bt-version-entry" aria-labelledby={titleId}>
              <div className="bt-version-head">
                <strong id={titleId}>Version {n ?? "?"}</strong>
                {isLive && (
                  <span className="bt-version-tag is-live" title="Runs, webhooks and schedules use this version">
                    Live
                  </span>
                )}
                {matchesDraft && <span className="bt-version-tag">Same as the draft</span>}
              </div>
              <p className="bt-muted bt-version-meta">
                {[
                  v.created_by ? `by ${v.created_by}` : null,
                  v.created_at ? new Date(v.created_at).toLocaleString() : null,
                  v.graph ? graphSummary(v.graph) : null,
                ]
                  .filter(Boolean)
                  .join(" · ")}
              </p>
              {v.note && <p className="bt-version-note">{v.note}</p>}
              {!readOnly && n !== null && !matchesDraft && confirming !== n && (
                <button
                  type="button"
                  id={`${titleId}-restore`}
                  className="bt-button"
                  aria-label={`Restore version ${n} into the draft`}
                  disabled={busy || !!blocked}
                  onClick={() => {
                    setError(null);
                    setConfirming(n);
                  }}
                >
                  Restore…
                </button>
              )}
              {!readOnly && n !== null && confirming === n && (
                <RestoreConfirm
                  n={n}
                  question={restoreQuestion(n, v.graph, draft)}
                  busy={busy}
                  error={error}
                  onConfirm={() => void restore(n)}
                  onCancel={() => {
                    setConfirming(null);
                    setError(null);
                    setFocusAfter(`${titleId}-restore`);
                  }}
                />
              )}
            </li>
          );
        })}
      </ol>
      {list.error && (
        <p className="bt-field-error" role="alert">
          {list.error}
        </p>
      )}
      {list.hasMore && (
        <div className="bt-button-row">
          <button type="button" className="bt-button" disabled={list.loading} onClick={() => load(list.page + 1)}>
            {list.loading ? "Loading…" : "Show older versions"}
          </button>
        </div>
      )}
    </>
  );
}

function RestoreConfirm(props: { n: number; question: string; busy: boolean; error: string | null; onConfirm: () => void; onCancel: () => void }) {
  const { n, question, busy, error, onConfirm, onCancel } = props;
  const confirm = useRef<HTMLButtonElement>(null);
  const questionId = useId();
  useEffect(() => confirm.current?.focus(), []);
  return (
    <div
      className="bt-restore-confirm"
      role="group"
      aria-label={`Restore version ${n}?`}
      aria-describedby={questionId}
      onKeyDown={(e) => {
        // Escape cancels the confirmation, not the whole dialog.
        if (e.key === "Escape" && !busy) {
          e.preventDefault();
          e.stopPropagation();
          onCancel();
        }
      }}
    >
      <p id={questionId}>{question}</p>
      {error && (
        <p className="bt-field-error" role="alert">
          {error}
        </p>
      )}
      <div className="bt-button-row">
        <button type="button" className="bt-button" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
        <button ref={confirm} type="button" className="bt-button bt-primary" disabled={busy} aria-disabled={busy} onClick={onConfirm}>
          {busy ? "Restoring…" : `Restore version ${n}`}
        </button>
      </div>
    </div>
  );
}
