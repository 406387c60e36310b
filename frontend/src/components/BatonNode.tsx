import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo, useEffect, useMemo, useRef } from "react";
import type { BatonFlowNode } from "../lib/graph";
import { nodeHeight } from "../lib/handles";
import { nodePorts, portTone } from "../lib/ports";
import { statusMeta } from "../lib/status";
import type { Issue, NodeType } from "../lib/types";
import { useEditor, type EditorState } from "../state/store";
import { categoryMeta, categoryOf } from "./nodeMeta";

const EMPTY = "";

/** Set by the run-view benchmark (bench/runview): counts node renders per frame. */
const probe = globalThis as { __batonNodeRenders?: number };

type NodeView = readonly [NodeType | undefined, Issue[] | undefined, string | undefined, number, number, string, boolean];

/** What a node shows from the store, as one value that stays the same
 * object while its parts are the same: the selector runs for every node on
 * every store update (a live run updates it every frame), so it neither
 * allocates nor walks anything then. */
function nodeSelector(id: string, typeKey: string): (s: EditorState) => NodeView {
  let last: NodeView | null = null;
  return (s) => {
    const step = s.stepsByNode[id];
    const type = s.catalog.get(typeKey);
    const issues = s.issuesByNode[id];
    const status = step?.status;
    const visit = step?.visit ?? 0;
    const attempts = step?.attempts ?? 0;
    const ports = s.extraPortsByNode[id] ?? EMPTY;
    const readOnly = s.readOnly;
    const l = last;
    if (l && l[0] === type && l[1] === issues && l[2] === status && l[3] === visit && l[4] === attempts && l[5] === ports && l[6] === readOnly) return l;
    return (last = [type, issues, status, visit, attempts, ports, readOnly]);
  };
}

/** One workflow node. Memoised, and subscribed only to its own entries of
 * the per-node maps, so editing or validating one node re-renders one node. */
function BatonNodeView({ id, data, selected }: NodeProps<BatonFlowNode>) {
  if (probe.__batonNodeRenders !== undefined) probe.__batonNodeRenders++;
  const spec = data.spec;
  // One subscription per node (not one per value): with hundreds of nodes,
  // every store update visits every subscriber. The run's step is selected
  // by the fields shown, not as an object: a live run replaces step objects
  // many times a second (and the API's details once a second), and a node
  // re-renders only when its status, visit or attempts change.
  const [type, issues, stepStatus, visit, attempts, usedPorts, readOnly] = useEditor(useMemo(() => nodeSelector(id, spec.type), [id, spec.type]));
  const ports = useMemo(() => nodePorts(type, spec.config, usedPorts ? usedPorts.split("|") : []), [type, spec.config, usedPorts]);
  // The node's size and handle positions are computed (lib/handles.ts, the
  // store's withHandles) and given to React Flow; the box keeps that exact
  // height, also when far out its rows are hidden (canvas.css, .is-far), so
  // React Flow never sees it resize.
  const height = nodeHeight(ports.declared.length + ports.missing.length);
  const box = useSettled([...ports.declared, ...ports.missing].join("|"));

  const category = categoryOf(spec.type, type?.category);
  const meta = categoryMeta(category);
  const title = spec.name || type?.label || spec.type;
  const errors = issues?.filter((i) => i.level === "error").length ?? 0;
  const warnings = (issues?.length ?? 0) - errors;
  const status = stepStatus ? statusMeta(stepStatus) : null;
  const problemText = issues?.map((i) => `${i.field ? `${i.field}: ` : ""}${i.message}`).join("\n");
  const label = [
    `${title} (${type?.label ?? spec.type}, id ${id})`,
    errors ? `${errors} problem${errors > 1 ? "s" : ""}` : "",
    warnings ? `${warnings} warning${warnings > 1 ? "s" : ""}` : "",
    status ? `status ${status.label}` : "",
    spec.disabled ? "disabled" : "",
  ]
    .filter(Boolean)
    .join(", ");

  return (
    <div
      className={`bt-node cat-${category}${selected ? " is-selected" : ""}${spec.disabled ? " is-disabled" : ""}${
        errors ? " has-errors" : ""
      }${stepStatus ? ` has-status status-${stepStatus}` : ""}`}
      style={status ? ({ height, "--node-status": status.color } as React.CSSProperties) : { height }}
      aria-label={label}
      role="group"
      ref={box}
      data-node-id={id}
      data-testid={`node-${id}`}
    >
      {!type?.is_trigger && (
        <Handle type="target" position={Position.Left} className="bt-handle bt-handle-in" aria-label={`${title} input`} isConnectable={!readOnly} />
      )}
      <div className="bt-node-header">
        <span className="bt-node-icon" aria-hidden="true">
          {meta.icon}
        </span>
        <span className="bt-node-title">{title}</span>
        {errors > 0 && (
          <span className="bt-badge bt-badge-error" title={problemText} role="img" aria-label={`${errors} problem${errors > 1 ? "s" : ""}`}>
            ! {errors}
          </span>
        )}
        {errors === 0 && warnings > 0 && (
          <span className="bt-badge bt-badge-warning" title={problemText} role="img" aria-label={`${warnings} warning${warnings > 1 ? "s" : ""}`}>
            ⚠ {warnings}
          </span>
        )}
      </div>
      <div className="bt-node-sub">
        <span>{type?.label ?? spec.type}</span>
        <span className="bt-node-id">{id}</span>
      </div>
      {(status || spec.disabled) && (
        <div className="bt-node-status">
          {status && (
            <span className="bt-status-pill" style={{ "--pill": status.color } as React.CSSProperties}>
              <span aria-hidden="true">{status.icon}</span> {status.label}
              {visit > 1 ? ` · visit ${visit}` : ""}
              {attempts > 1 ? ` · ${attempts} attempts` : ""}
            </span>
          )}
          {spec.disabled && <span className="bt-tag">Disabled</span>}
        </div>
      )}
      <ul className="bt-ports" aria-label="Outputs">
        {ports.declared.map((port) => (
          <li key={port} className={`bt-port tone-${portTone(port)}`}>
            <span className="bt-port-label">{port}</span>
            <Handle
              type="source"
              id={port}
              position={Position.Right}
              className={`bt-handle bt-handle-out tone-${portTone(port)}`}
              aria-label={`${title} output ${port}`}
              title={`Output "${port}": drag to connect`}
              isConnectable={!readOnly}
            />
          </li>
        ))}
        {ports.missing.map((port) => (
          <li key={port} className="bt-port tone-missing">
            <span className="bt-port-label" title="This output no longer exists: remove or reconnect its connection">
              {port} (missing)
            </span>
            <Handle type="source" id={port} position={Position.Right} className="bt-handle bt-handle-out tone-missing" isConnectable={false} />
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Marks the node `data-settled` once React Flow has measured it: zoomed far
 * out, a settled node drops its rows and handles from the page (canvas.css,
 * .is-far), leaving one box per node to style, paint and hit-test. React
 * Flow reads a node's handles from the page when it mounts it (and when its
 * size changes, as when its ports change), in the frame it is drawn; the
 * mark comes two frames later and is withdrawn while the ports change. */
function useSettled(portKey: string) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    delete el.dataset.settled;
    let frame = requestAnimationFrame(() => {
      frame = requestAnimationFrame(() => (el.dataset.settled = ""));
    });
    return () => cancelAnimationFrame(frame);
  }, [portKey]);
  return ref;
}

export const BatonNode = memo(BatonNodeView);
