import { Handle, Position, useUpdateNodeInternals, type NodeProps } from "@xyflow/react";
import { memo, useEffect, useMemo, useRef } from "react";
import type { BatonFlowNode } from "../lib/graph";
import { nodePorts, portTone } from "../lib/ports";
import { statusMeta } from "../lib/status";
import { useShallow } from "zustand/react/shallow";
import { useEditor } from "../state/store";
import { categoryMeta, categoryOf } from "./nodeMeta";

const EMPTY = "";

/** One workflow node. Memoised, and subscribed only to its own entries of
 * the per-node maps, so editing or validating one node re-renders one node. */
function BatonNodeView({ id, data, selected }: NodeProps<BatonFlowNode>) {
  const spec = data.spec;
  // One subscription per node (not one per value): with hundreds of nodes,
  // every store update visits every subscriber.
  const [type, issues, step, usedPorts, readOnly] = useEditor(
    useShallow((s) => [s.catalog.get(spec.type), s.issuesByNode[id], s.stepsByNode[id], s.extraPortsByNode[id] ?? EMPTY, s.readOnly] as const),
  );
  const updateInternals = useUpdateNodeInternals();

  const ports = useMemo(() => nodePorts(type, spec.config, usedPorts ? usedPorts.split("|") : []), [type, spec.config, usedPorts]);
  const portKey = [...ports.declared, ...ports.missing].join("|");
  // React Flow measures handles on mount; re-measure only when the ports change.
  const measuredPorts = useRef(portKey);
  useEffect(() => {
    if (measuredPorts.current === portKey) return;
    measuredPorts.current = portKey;
    updateInternals(id);
  }, [id, portKey, updateInternals]);

  const category = categoryOf(spec.type, type?.category);
  const meta = categoryMeta(category);
  const title = spec.name || type?.label || spec.type;
  const errors = issues?.filter((i) => i.level === "error").length ?? 0;
  const warnings = (issues?.length ?? 0) - errors;
  const status = step ? statusMeta(step.status) : null;
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
      }${step ? ` has-status status-${step.status}` : ""}`}
      style={status ? ({ "--node-status": status.color } as React.CSSProperties) : undefined}
      aria-label={label}
      role="group"
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
              {step && step.visit > 1 ? ` · visit ${step.visit}` : ""}
              {step && step.attempts > 1 ? ` · ${step.attempts} attempts` : ""}
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

export const BatonNode = memo(BatonNodeView);
