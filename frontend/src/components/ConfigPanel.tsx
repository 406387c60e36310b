import { useEffect, useMemo, useState } from "react";
import { flowNodeToGraph, isBatonNode, type BatonFlowNode, type NodeSpec } from "../lib/graph";
import { DEFAULT_PORT, portsFor } from "../lib/ports";
import { normalizeSchema } from "../lib/schema";
import { suggestionsFor } from "../lib/suggestions";
import type { Issue, JSONObject } from "../lib/types";
import {
  connect,
  deleteNode,
  deleteSelection,
  duplicateSelection,
  removeEdge,
  renameNode,
  setEdgeLoop,
  updateConfig,
  updateNodeSpec,
  useEditor,
} from "../state/store";
import { SchemaForm, type FormContext } from "./SchemaForm";
import { ProblemList } from "./ProblemList";
import { StepDetails } from "./RunPanel";
import { ScheduleNext, WebhookUrl } from "./TriggerInfo";

export function ConfigPanel() {
  const selected = useEditor((s) => s.selectedNodeIds);
  const node = useEditor((s) => {
    if (s.selectedNodeIds.length !== 1) return null;
    const found = s.nodes.find((n) => n.id === s.selectedNodeIds[0]);
    return found && isBatonNode(found) ? found : null;
  });
  if (node) return <NodePanel key={node.id} node={node} />;
  if (selected.length > 1) return <MultiPanel count={selected.length} />;
  return <OverviewPanel />;
}

function MultiPanel({ count }: { count: number }) {
  const readOnly = useEditor((s) => s.readOnly);
  return (
    <div className="bt-panel-section">
      <h2>{count} items selected</h2>
      {!readOnly && (
        <div className="bt-button-row">
          <button type="button" className="bt-button" onClick={duplicateSelection}>
            Duplicate
          </button>
          <button type="button" className="bt-button bt-danger" onClick={deleteSelection}>
            Delete {count} items
          </button>
        </div>
      )}
      <p className="bt-muted">Copy with Ctrl+C and paste into this or another workflow with Ctrl+V.</p>
    </div>
  );
}

function OverviewPanel() {
  const readOnly = useEditor((s) => s.readOnly);
  const count = useEditor((s) => s.nodes.filter(isBatonNode).length);
  return (
    <div className="bt-panel-section">
      <h2>Workflow</h2>
      {count === 0 ? (
        <p className="bt-empty">
          {readOnly ? "This workflow has no nodes yet." : "Start by dragging a trigger from the palette onto the canvas, then add steps and connect them."}
        </p>
      ) : (
        <p className="bt-muted">Select a node to see its settings{readOnly ? "" : " and edit them"}.</p>
      )}
      <h3>Problems</h3>
      <ProblemList />
    </div>
  );
}

function NodePanel({ node }: { node: BatonFlowNode }) {
  const spec = node.data.spec;
  const readOnly = useEditor((s) => s.readOnly);
  const type = useEditor((s) => s.catalog.get(spec.type));
  const catalog = useEditor((s) => s.catalog);
  const issues = useEditor((s) => s.issuesByNode[node.id]);
  const step = useEditor((s) => s.stepsByNode[node.id]);
  // The committed state: unlike the live one it does not change on every drag frame.
  const nodes = useEditor((s) => s.history.present.nodes);
  const edges = useEditor((s) => s.history.present.edges);
  const schema = useMemo(() => normalizeSchema(type?.config_schema ?? {}), [type]);

  // Suggestions depend on the upstream nodes only; recomputed when the graph changes.
  const suggestions = useMemo(() => {
    const graphNodes = nodes.filter(isBatonNode).map(flowNodeToGraph);
    return suggestionsFor(node.id, graphNodes, edges, catalog);
  }, [nodes, edges, catalog, node.id]);

  const errors = useMemo(() => {
    const out: Record<string, string[]> = {};
    for (const issue of issues ?? []) if (issue.field) (out[issue.field] ??= []).push(issue.message);
    return out;
  }, [issues]);

  const context: FormContext = {
    disabled: readOnly,
    suggestions,
    expressionFields: type?.expression_fields ?? [],
    errors,
    templates: true,
    idPrefix: `cfg-${node.id}`,
  };
  const title = spec.name || type?.label || spec.type;

  return (
    <div className="bt-node-panel">
      <div className="bt-panel-section">
        <h2>{title}</h2>
        <p className="bt-muted">
          {type?.label ?? spec.type}
          {type?.description ? ` — ${type.description}` : ""}
        </p>
        {!type && <p className="bt-field-error">This node type is unknown to the server. Replace the node.</p>}
        {step && <StepDetails step={step} />}
        {issues && issues.length > 0 && <NodeProblems issues={issues} />}
      </div>
      <section className="bt-panel-section" aria-labelledby={`general-${node.id}`}>
        <h3 id={`general-${node.id}`}>General</h3>
        <div className="bt-form">
          <div className="bt-field">
            <label htmlFor={`name-${node.id}`}>Name</label>
            <input
              id={`name-${node.id}`}
              type="text"
              value={spec.name ?? ""}
              placeholder={type?.label}
              disabled={readOnly}
              onChange={(e) => updateNodeSpec(node.id, (s) => withOptional(s, "name", e.target.value || undefined), `name:${node.id}`)}
            />
          </div>
          <IdField id={node.id} readOnly={readOnly} />
          <div className="bt-field">
            <label htmlFor={`notes-${node.id}`}>Notes</label>
            <textarea
              id={`notes-${node.id}`}
              rows={2}
              value={spec.notes ?? ""}
              disabled={readOnly}
              onChange={(e) => updateNodeSpec(node.id, (s) => withOptional(s, "notes", e.target.value || undefined), `notes:${node.id}`)}
            />
          </div>
        </div>
      </section>
      {spec.type === "trigger.webhook" && <WebhookUrl nodeId={node.id} />}
      {spec.type === "trigger.schedule" && <ScheduleNext nodeId={node.id} />}
      <section className="bt-panel-section" aria-labelledby={`settings-${node.id}`}>
        <h3 id={`settings-${node.id}`}>Settings</h3>
        {!readOnly && (
          <p className="bt-field-tip">
            In text fields, type <code>{"{{"}</code> to insert data from the trigger or from earlier nodes.
          </p>
        )}
        <fieldset disabled={readOnly} className="bt-plain-fieldset">
          <SchemaForm
            schema={schema}
            value={(spec.config ?? {}) as JSONObject}
            path="config"
            context={context}
            onChange={(config, field) => updateConfig(node.id, config, field)}
          />
        </fieldset>
      </section>
      {!type?.is_trigger && <Advanced spec={spec} readOnly={readOnly} />}
      <Connections node={node} readOnly={readOnly} />
      {!readOnly && (
        <div className="bt-panel-section">
          <button type="button" className="bt-button bt-danger" onClick={() => deleteNode(node.id)}>
            Delete node
          </button>
        </div>
      )}
    </div>
  );
}

function NodeProblems({ issues }: { issues: Issue[] }) {
  return (
    <div className="bt-node-problems" role="region" aria-label="Problems with this node">
      <ul>
        {issues.map((issue, i) => (
          <li key={i} className={`level-${issue.level}`}>
            <span aria-hidden="true">{issue.level === "error" ? "✕" : "⚠"}</span>{" "}
            <span className="bt-visually-hidden">{issue.level === "error" ? "Error:" : "Warning:"}</span>
            {issue.field ? <strong>{issue.field.replace(/^config\./, "")}</strong> : null} {issue.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

function withOptional<K extends keyof NodeSpec>(spec: NodeSpec, key: K, value: NodeSpec[K] | undefined): NodeSpec {
  const out = { ...spec };
  if (value === undefined || value === null || (value as unknown) === "") delete out[key];
  else out[key] = value;
  return out;
}

function IdField({ id, readOnly }: { id: string; readOnly: boolean }) {
  const [text, setText] = useState(id);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setText(id), [id]);
  const apply = () => {
    const problem = renameNode(id, text.trim());
    setError(problem);
  };
  return (
    <div className={`bt-field${error ? " has-error" : ""}`}>
      <label htmlFor={`id-${id}`}>ID</label>
      <input
        id={`id-${id}`}
        type="text"
        value={text}
        disabled={readOnly}
        spellCheck={false}
        aria-describedby={`id-help-${id}`}
        aria-invalid={error ? true : undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={apply}
        onKeyDown={(e) => e.key === "Enter" && apply()}
      />
      <p className="bt-help" id={`id-help-${id}`}>
        Used in expressions as <code>nodes.{id}.output</code>. Renaming updates the references.
      </p>
      {error && (
        <p className="bt-field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function NumberSetting(props: { id: string; label: string; value: number | undefined; placeholder?: string; min?: number; step?: number; disabled: boolean; help?: string; onChange: (v: number | undefined) => void }) {
  return (
    <div className="bt-field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        min={props.min}
        step={props.step ?? "any"}
        value={props.value ?? ""}
        placeholder={props.placeholder}
        disabled={props.disabled}
        aria-describedby={props.help ? `${props.id}-help` : undefined}
        onChange={(e) => props.onChange(e.target.value === "" ? undefined : Number(e.target.value))}
      />
      {props.help && (
        <p className="bt-help" id={`${props.id}-help`}>
          {props.help}
        </p>
      )}
    </div>
  );
}

function Advanced({ spec, readOnly }: { spec: NodeSpec; readOnly: boolean }) {
  const id = spec.id;
  const update = (key: string, change: (s: NodeSpec) => NodeSpec) => updateNodeSpec(id, change, `${key}:${id}`);
  const retry = spec.retry ?? {};
  const setRetry = (field: "max_attempts" | "backoff_s" | "backoff_factor", value: number | undefined) =>
    update(`retry.${field}`, (s) => {
      const next = { ...(s.retry ?? {}) };
      if (value === undefined) delete next[field];
      else next[field] = value;
      return withOptional(s, "retry", Object.keys(next).length ? next : undefined);
    });
  return (
    <details className="bt-panel-section bt-advanced">
      <summary>Advanced</summary>
      <fieldset disabled={readOnly} className="bt-plain-fieldset bt-form">
        <NumberSetting id={`retry-attempts-${id}`} label="Retry: attempts" min={1} step={1} value={retry.max_attempts} placeholder="1" disabled={readOnly} help="How many times to try before the step fails." onChange={(v) => setRetry("max_attempts", v)} />
        <NumberSetting id={`retry-backoff-${id}`} label="Retry: first wait (seconds)" min={0} value={retry.backoff_s} placeholder="0" disabled={readOnly} onChange={(v) => setRetry("backoff_s", v)} />
        <NumberSetting id={`retry-factor-${id}`} label="Retry: wait multiplier" min={1} value={retry.backoff_factor} placeholder="1" disabled={readOnly} onChange={(v) => setRetry("backoff_factor", v)} />
        <NumberSetting id={`timeout-${id}`} label="Timeout (seconds)" min={0} value={spec.timeout_s} placeholder="none" disabled={readOnly} help="A step running longer fails with a timeout (and is retried)." onChange={(v) => update("timeout", (s) => withOptional(s, "timeout_s", v))} />
        <div className="bt-field">
          <label htmlFor={`join-${id}`}>Wait for</label>
          <select id={`join-${id}`} value={spec.join ?? "all"} aria-describedby={`join-help-${id}`} onChange={(e) => update("join", (s) => withOptional(s, "join", e.target.value === "all" ? undefined : (e.target.value as "any")))}>
            <option value="all">All incoming connections (all)</option>
            <option value="any">The first incoming connection (any)</option>
          </select>
          <p className="bt-help" id={`join-help-${id}`}>
            With several incoming connections: run when all have finished, or as soon as the first arrives.
          </p>
        </div>
        <NumberSetting id={`visits-${id}`} label="Max visits" min={1} step={1} value={spec.max_visits} placeholder="1" disabled={readOnly} help="How often this node may run in one run when it sits on a loop." onChange={(v) => update("visits", (s) => withOptional(s, "max_visits", v))} />
        <div className="bt-field">
          <label className="bt-check" htmlFor={`disabled-${id}`}>
            <input id={`disabled-${id}`} type="checkbox" checked={!!spec.disabled} onChange={(e) => update("disabled", (s) => withOptional(s, "disabled", e.target.checked || undefined))} />
            Disabled (passes its input through unchanged)
          </label>
        </div>
      </fieldset>
    </details>
  );
}

function Connections({ node, readOnly }: { node: BatonFlowNode; readOnly: boolean }) {
  const type = useEditor((s) => s.catalog.get(node.data.spec.type));
  const edges = useEditor((s) => s.edges);
  const nodes = useEditor((s) => s.history.present.nodes);
  const ports = portsFor(type, node.data.spec.config);
  const outgoing = edges.filter((e) => e.source === node.id);
  const incoming = edges.filter((e) => e.target === node.id);
  // One pass over the nodes, not one search per name: a 1,000-node workflow
  // lists 1,000 targets per output port.
  const names = useMemo(() => {
    const map = new Map<string, string>();
    for (const n of nodes) if (isBatonNode(n)) map.set(n.id, `${n.data.spec.name || n.id}`);
    return map;
  }, [nodes]);
  const targets = useMemo(() => [...names.keys()].filter((id) => id !== node.id), [names, node.id]);
  const nameOf = (id: string) => names.get(id) ?? id;
  return (
    <section className="bt-panel-section" aria-labelledby={`conn-${node.id}`}>
      <h3 id={`conn-${node.id}`}>Connections</h3>
      {incoming.length > 0 && (
        <p className="bt-muted">
          From: {incoming.map((e) => `${nameOf(e.source)}${e.sourceHandle && e.sourceHandle !== DEFAULT_PORT ? ` (${e.sourceHandle})` : ""}`).join(", ")}
        </p>
      )}
      {ports.length === 0 && <p className="bt-muted">This node has no outputs.</p>}
      {ports.map((port) => {
        const list = outgoing.filter((e) => (e.sourceHandle ?? DEFAULT_PORT) === port);
        return (
          <div key={port} className="bt-connection-port">
            <h4>
              Output <code>{port}</code>
            </h4>
            <ul>
              {list.map((e) => (
                <li key={e.id}>
                  → {nameOf(e.target)}
                  {e.data?.spec?.loop ? " (loop)" : ""}
                  {!readOnly && (
                    <>
                      <label className="bt-check bt-inline">
                        <input type="checkbox" checked={!!e.data?.spec?.loop} onChange={(ev) => setEdgeLoop(e.id, ev.target.checked)} /> loop
                      </label>
                      <button type="button" className="bt-icon-button" aria-label={`Remove connection from ${port} to ${nameOf(e.target)}`} onClick={() => removeEdge(e.id)}>
                        ×
                      </button>
                    </>
                  )}
                </li>
              ))}
              {list.length === 0 && <li className="bt-muted">not connected</li>}
            </ul>
            {!readOnly && targets.length > 0 && (
              <select
                aria-label={`Connect output ${port} to`}
                value=""
                onChange={(e) => e.target.value && connect({ source: node.id, sourceHandle: port, target: e.target.value, targetHandle: null })}
              >
                <option value="">Connect to…</option>
                {targets.map((id) => (
                  <option key={id} value={id}>
                    {nameOf(id)} ({id})
                  </option>
                ))}
              </select>
            )}
          </div>
        );
      })}
    </section>
  );
}

