/** The editor's state: the canvas (React Flow nodes and edges), its undo
 * history, saving, validation and the run being shown.
 *
 * Performance: React Flow re-renders a node only when its node object
 * changes, so every edit replaces only the nodes it touches. Per-node
 * decorations (problems, step status, ports in use) live in maps here and
 * node components subscribe to their own entry; entries are kept identical
 * when their content did not change, so a validation pass or a poll of the
 * run re-renders only the nodes whose badge changed. */
import {
  applyEdgeChanges,
  applyNodeChanges,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type ReactFlowInstance,
} from "@xyflow/react";
import { create } from "zustand";
import { Api, ApiError, describeError } from "../lib/api";
import { preparePaste, selectionToDocument } from "../lib/clipboard";
import {
  edgeToFlow,
  emptyGraph,
  flowToGraph,
  graphToFlow,
  isBatonNode,
  isStickyNode,
  nodeToFlow,
  noteToFlow,
  NOTE_PREFIX,
  type BatonFlowNode,
  type FlowEdge,
  type FlowNode,
  type FlowState,
  type NodeSpec,
} from "../lib/graph";
import { canRedo, canUndo, commit, createHistory, redo, undo, type History } from "../lib/history";
import { newEdgeId, newNodeId, uniqueId } from "../lib/ids";
import { layoutPositions } from "../lib/layout";
import { handlesFor, NODE_BOX, nodeHeight, sameHandles } from "../lib/handles";
import { DEFAULT_PORT, nodePorts } from "../lib/ports";
import { rewriteReferences } from "../lib/references";
import { latestSteps, TERMINAL_RUN_STATUSES } from "../lib/status";
import { upstreamOf } from "../lib/suggestions";
import { liveRun } from "../live/watchRun";
import type {
  CanvasConfig,
  Catalog,
  GraphDocument,
  Issue,
  JSONObject,
  NodeType,
  Position,
  Run,
  ScheduleTimes,
  Step,
  Workflow,
} from "../lib/types";
import { graphIssues } from "../lib/validation";

export type SaveState = "saved" | "saving" | "dirty" | "conflict" | "error";

export interface Toast {
  id: number;
  message: string;
  tone: "info" | "success" | "error";
}

export interface Conflict {
  currentRevision: number | null;
  graph: GraphDocument | null;
}

export interface EditorState {
  config: CanvasConfig;
  api: Api;
  readOnly: boolean;
  loadState: "loading" | "ready" | "error";
  loadError: string | null;
  catalog: Catalog;
  nodeTypes: NodeType[];
  workflowName: string;
  description: string;
  publishedVersion: number | null;
  /** Webhook URL by trigger node id, for the published version's webhook triggers. */
  hooks: Record<string, string>;
  /** When each published schedule trigger fires next, by node id. */
  schedules: Record<string, ScheduleTimes>;
  revision: number;
  baseGraph: GraphDocument;
  nodes: FlowNode[];
  edges: FlowEdge[];
  history: History<FlowState>;
  editSeq: number;
  savedSeq: number;
  saveState: SaveState;
  saveError: string | null;
  conflict: Conflict | null;
  clientIssues: Issue[];
  serverIssues: Issue[];
  serverValid: boolean | null;
  issuesByNode: Record<string, Issue[]>;
  globalIssues: Issue[];
  extraPortsByNode: Record<string, string>;
  run: Run | null;
  stepsByNode: Record<string, Step>;
  /** More than BUSY_ABOVE nodes are queued, waiting or running: nothing
   * pulses or flows (Canvas, LiveEdge), every animation costs each frame. */
  runBusy: boolean;
  selectedNodeIds: string[];
  selectedEdgeIds: string[];
  flow: ReactFlowInstance<FlowNode, FlowEdge> | null;
  toasts: Toast[];
}

const SAVE_DELAY_MS = 800;
const RETRY_DELAY_MS = 5000;

export const useEditor = create<EditorState>(() => ({}) as EditorState);
const get = useEditor.getState;
const set = useEditor.setState;

let saveTimer: ReturnType<typeof setTimeout> | undefined;
let saving: Promise<void> | null = null;
let validateSeq = 0;
let toastSeq = 0;

export function initEditor(config: CanvasConfig): void {
  const readOnly = !config.canEdit || config.mode === "run";
  useEditor.setState(
    {
      config,
      api: new Api(config),
      readOnly,
      loadState: "loading",
      loadError: null,
      catalog: new Map(),
      nodeTypes: [],
      workflowName: "",
      description: "",
      publishedVersion: null,
      hooks: {},
      schedules: {},
      revision: 0,
      baseGraph: emptyGraph(),
      nodes: [],
      edges: [],
      history: createHistory<FlowState>({ nodes: [], edges: [] }),
      editSeq: 0,
      savedSeq: 0,
      saveState: "saved",
      saveError: null,
      conflict: null,
      clientIssues: [],
      serverIssues: [],
      serverValid: null,
      issuesByNode: {},
      globalIssues: [],
      extraPortsByNode: {},
      run: null,
      stepsByNode: {},
      runBusy: false,
      selectedNodeIds: [],
      selectedEdgeIds: [],
      flow: null,
      toasts: [],
    },
    true,
  );
}

/* ------------------------------------------------------------ messages */

export function announce(message: string, tone: Toast["tone"] = "info"): void {
  const toast = { id: ++toastSeq, message, tone };
  set((s) => ({ toasts: [...s.toasts.slice(-3), toast] }));
  setTimeout(() => dismissToast(toast.id), tone === "error" ? 9000 : 4500);
}

export function dismissToast(id: number): void {
  set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
}

/* ------------------------------------------------------------ loading */

/** The store's view of the workflow's live version: its number, webhook
 * URLs and schedule times, by trigger node id. */
function publishedOf(workflow: Workflow): Pick<EditorState, "publishedVersion" | "hooks" | "schedules"> {
  return {
    publishedVersion: workflow.published_version ?? null,
    hooks: Object.fromEntries((workflow.hooks ?? []).map((hook) => [hook.node_id, hook.url])),
    schedules: Object.fromEntries((workflow.schedules ?? []).map((item): [string, ScheduleTimes] => [item.node_id, item])),
  };
}

/** Re-read the published version, its webhook URLs and schedules (after a publish). */
export async function refreshPublished(): Promise<void> {
  const { api, config } = get();
  const workflow = await api.workflow(config.workflowId);
  set(publishedOf(workflow));
}

export async function loadEditor(): Promise<void> {
  const { api, config } = get();
  try {
    const [types, workflow] = await Promise.all([api.nodeTypes(), api.workflow(config.workflowId)]);
    const catalog: Catalog = new Map(types.map((t) => [t.key, t]));
    set({
      catalog,
      nodeTypes: types,
      workflowName: workflow.name,
      description: workflow.description ?? "",
      ...publishedOf(workflow),
      revision: workflow.revision,
    });
    let graph = workflow.graph ?? emptyGraph();
    if (config.mode === "run" && config.runId) {
      const run = await api.run(config.runId);
      graph = (await graphOfRun(run)) ?? graph;
      showRun(run);
      if (!TERMINAL_RUN_STATUSES.has(run.status)) pollRun(run.id);
    }
    performance.mark("baton:data-loaded");
    replaceGraph(graph, { resetHistory: true });
    set({ loadState: "ready" });
    void validateOnServer();
  } catch (error) {
    set({ loadState: "error", loadError: describeError(error) });
  }
}

async function graphOfRun(run: Run): Promise<GraphDocument | null> {
  if (run.graph) return run.graph;
  const { api, config } = get();
  if (typeof run.version === "number") {
    try {
      return (await api.version(config.workflowId, run.version)).graph;
    } catch {
      return null;
    }
  }
  return null;
}

/** Show `doc` on the canvas. Nodes without positions are laid out. */
export function replaceGraph(doc: GraphDocument, options: { resetHistory?: boolean; revision?: number } = {}): void {
  const flow = graphToFlow(doc);
  let nodes = withHandles(flow.nodes, flow.edges, get().catalog);
  if (flow.missingPositions) nodes = withLayout(nodes, flow.edges);
  const state = { nodes, edges: flow.edges };
  if (options.resetHistory) {
    set({
      baseGraph: doc,
      nodes,
      edges: flow.edges,
      history: createHistory(state),
      ...(options.revision !== undefined ? { revision: options.revision } : {}),
    });
    refreshDerived();
  } else {
    set({ baseGraph: doc });
    applyEdit(state);
  }
}

/* ------------------------------------------------------------ edits */

/** Give each workflow node its computed handles (see lib/handles.ts). Nodes
 * whose ports did not change stay the same objects. */
function withHandles(nodes: FlowNode[], edges: FlowEdge[], catalog: Catalog): FlowNode[] {
  const used = new Map<string, string[]>();
  for (const e of edges) used.set(e.source, [...(used.get(e.source) ?? []), e.sourceHandle ?? DEFAULT_PORT]);
  let changed = false;
  const out = nodes.map((n) => {
    if (!isBatonNode(n)) return n;
    const type = catalog.get(n.data.spec.type);
    const { declared, missing } = nodePorts(type, n.data.spec.config, used.get(n.id) ?? []);
    const ports = [...declared, ...missing];
    const hasInput = !type?.is_trigger;
    if (sameHandles(n.handles, ports, hasInput) && n.measured?.height === nodeHeight(ports.length)) return n;
    changed = true;
    // The size is known too (fixed layout, BatonNode keeps it): React Flow
    // takes every node as measured, so it fits the view and initialises
    // without waiting for all of them to be mounted (past a few hundred
    // nodes most never are), and mounting one while panning sends no
    // "dimensions" change through onNodesChange.
    const height = nodeHeight(ports.length);
    return { ...n, handles: handlesFor(ports, hasInput), initialHeight: height, measured: { width: NODE_BOX.width, height } };
  });
  return changed ? out : nodes;
}

/** Record an edit: new canvas state, an undo step, a save. */
export function applyEdit(next: FlowState, key?: string): void {
  const s = get();
  if (s.readOnly) return;
  next = { nodes: withHandles(next.nodes, next.edges, s.catalog), edges: next.edges };
  set({
    nodes: next.nodes,
    edges: next.edges,
    history: commit(s.history, { nodes: next.nodes, edges: next.edges }, { key }),
    editSeq: s.editSeq + 1,
    saveState: s.saveState === "conflict" ? "conflict" : "dirty",
  });
  refreshDerived();
  scheduleSave();
}

export function currentGraph(): GraphDocument {
  const s = get();
  return flowToGraph({ nodes: s.nodes, edges: s.edges }, s.baseGraph);
}

export function onNodesChange(changes: NodeChange<FlowNode>[]): void {
  const s = get();
  const allowed = s.readOnly ? changes.filter((c) => c.type === "select" || c.type === "dimensions") : changes;
  if (allowed.length === 0) return;
  const nodes = applyNodeChanges(allowed, s.nodes);
  const finished = allowed.some(
    (c) =>
      (c.type === "position" && c.dragging === false) ||
      (c.type === "dimensions" && c.resizing === false) ||
      c.type === "remove" ||
      c.type === "add",
  );
  if (finished && !s.readOnly) applyEdit({ nodes, edges: s.edges }, moveKey(allowed));
  else set({ nodes });
}

function moveKey(changes: NodeChange<FlowNode>[]): string | undefined {
  const moved = changes.filter((c) => c.type === "position").map((c) => (c as { id: string }).id);
  return moved.length ? `move:${moved.sort().join(",")}` : undefined;
}

export function onEdgesChange(changes: EdgeChange<FlowEdge>[]): void {
  const s = get();
  const allowed = s.readOnly ? changes.filter((c) => c.type === "select") : changes;
  if (allowed.length === 0) return;
  const edges = applyEdgeChanges(allowed, s.edges);
  if (allowed.some((c) => c.type === "remove" || c.type === "add")) applyEdit({ nodes: s.nodes, edges });
  else set({ edges });
}

/** True when `target` can already reach `source`: the new edge closes a cycle. */
function closesCycle(source: string, target: string, edges: FlowEdge[]): boolean {
  return source === target || upstreamOf(source, edges).includes(target);
}

export function isValidConnection(connection: Connection | FlowEdge): boolean {
  const s = get();
  if (s.readOnly || connection.source === connection.target) return false;
  const target = s.nodes.find((n) => n.id === connection.target);
  if (!target || !isBatonNode(target) || s.catalog.get(target.data.spec.type)?.is_trigger) return false;
  const port = connection.sourceHandle ?? DEFAULT_PORT;
  return !s.edges.some((e) => e.source === connection.source && e.target === connection.target && (e.sourceHandle ?? DEFAULT_PORT) === port);
}

export function connect(connection: Connection): void {
  if (!isValidConnection(connection)) return;
  const s = get();
  const taken = new Set(s.edges.map((e) => e.id));
  const loop = closesCycle(connection.source, connection.target, s.edges);
  const edge = edgeToFlow({
    id: newEdgeId(taken),
    source: connection.source,
    target: connection.target,
    ...(connection.sourceHandle && connection.sourceHandle !== DEFAULT_PORT ? { source_port: connection.sourceHandle } : {}),
    ...(loop ? { loop: true } : {}),
  });
  applyEdit({ nodes: s.nodes, edges: [...s.edges, edge] });
  if (loop) announce("This connection goes back to an earlier node, so it is marked as a loop.");
}

export function removeEdge(id: string): void {
  const s = get();
  applyEdit({ nodes: s.nodes, edges: s.edges.filter((e) => e.id !== id) });
}

export function setEdgeLoop(id: string, loop: boolean): void {
  const s = get();
  const edges = s.edges.map((e) => {
    if (e.id !== id) return e;
    const { loop: _old, ...spec } = e.data?.spec ?? {};
    const next = edgeToFlow({ id: e.id, source: e.source, target: e.target, source_port: e.sourceHandle ?? undefined, ...spec, ...(loop ? { loop } : {}) });
    return { ...next, selected: e.selected };
  });
  applyEdit({ nodes: s.nodes, edges });
}

function defaultSize(node: FlowNode): { width: number; height: number } {
  return {
    width: node.measured?.width ?? node.width ?? node.initialWidth ?? 240,
    height: node.measured?.height ?? node.height ?? node.initialHeight ?? 100,
  };
}

export function addNode(typeKey: string, position: Position): string | null {
  const s = get();
  const type = s.catalog.get(typeKey);
  if (s.readOnly || !type) return null;
  const taken = new Set(s.nodes.filter(isBatonNode).map((n) => n.id));
  const id = newNodeId(type.key, taken);
  const node: FlowNode = { ...nodeToFlow({ id, type: type.key, config: {} }, position), selected: true };
  const nodes = s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n));
  applyEdit({ nodes: [...nodes, node], edges: s.edges });
  return id;
}

export function addNote(position: Position): void {
  const s = get();
  if (s.readOnly) return;
  const taken = new Set(s.nodes.filter(isStickyNode).map((n) => n.id.slice(NOTE_PREFIX.length)));
  const note = noteToFlow({ id: uniqueId("note_1", taken), text: "", position });
  applyEdit({ nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), { ...note, selected: true }], edges: s.edges });
}

export function updateNote(id: string, text: string): void {
  const s = get();
  const nodes = s.nodes.map((n) => (n.id === id && isStickyNode(n) ? { ...n, data: { text } } : n));
  applyEdit({ nodes, edges: s.edges }, `note:${id}`);
}

/** Change one node's spec (name, notes, config, advanced settings). */
export function updateNodeSpec(id: string, update: (spec: NodeSpec) => NodeSpec, key?: string): void {
  const s = get();
  const nodes = s.nodes.map((n) => (n.id === id && isBatonNode(n) ? { ...n, data: { spec: update(n.data.spec) } } : n));
  applyEdit({ nodes, edges: s.edges }, key);
}

export function updateConfig(id: string, config: JSONObject, field: string): void {
  // The server's messages about this config are stale now; the client checks
  // cover it until the next server validation.
  const s = get();
  const fresh = s.serverIssues.filter((i) => !(i.node_id === id && i.field?.startsWith("config")));
  if (fresh.length !== s.serverIssues.length) set({ serverIssues: fresh });
  updateNodeSpec(id, (spec) => ({ ...spec, config }), `config:${id}:${field}`);
}

/** Rename a node: its edges follow, and `nodes.<old>` references in every
 * config are rewritten. Returns an error message or null. */
export function renameNode(oldId: string, newId: string): string | null {
  const s = get();
  if (oldId === newId) return null;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(newId)) return "Use letters, digits and _ only, starting with a letter or _.";
  if (s.nodes.some((n) => n.id === newId)) return "Another node already uses this id.";
  const map = new Map([[oldId, newId]]);
  const nodes = s.nodes.map((n) => {
    if (!isBatonNode(n)) return n;
    const config = rewriteReferences(n.data.spec.config ?? {}, map);
    if (n.id !== oldId && config === n.data.spec.config) return n;
    const id = n.id === oldId ? newId : n.id;
    return { ...n, id, data: { spec: { ...n.data.spec, id, config } } } as BatonFlowNode;
  });
  const edges = s.edges.map((e) =>
    e.source === oldId || e.target === oldId
      ? { ...e, source: e.source === oldId ? newId : e.source, target: e.target === oldId ? newId : e.target }
      : e,
  );
  applyEdit({ nodes, edges });
  return null;
}

export function deleteSelection(): void {
  const s = get();
  if (s.readOnly) return;
  const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
  const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
  if (gone.size === 0 && edges.length === s.edges.length) return;
  applyEdit({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges });
}

export function deleteNode(id: string): void {
  const s = get();
  applyEdit({ nodes: s.nodes.filter((n) => n.id !== id), edges: s.edges.filter((e) => e.source !== id && e.target !== id) });
}

export function selectAll(): void {
  set((s) => ({ nodes: s.nodes.map((n) => (n.selected ? n : { ...n, selected: true })) }));
}

export function selectOnly(ids: string[]): void {
  const wanted = new Set(ids);
  set((s) => ({
    nodes: s.nodes.map((n) => (!!n.selected === wanted.has(n.id) ? n : { ...n, selected: wanted.has(n.id) })),
    edges: s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
  }));
}

export function setSelection(nodeIds: string[], edgeIds: string[]): void {
  const s = get();
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (same(s.selectedNodeIds, nodeIds) && same(s.selectedEdgeIds, edgeIds)) return;
  set({ selectedNodeIds: nodeIds, selectedEdgeIds: edgeIds });
}

/** Add a copied or imported fragment; the pasted items end up selected. */
export function pasteDocument(doc: GraphDocument, placement: { at?: Position; offset?: number }): number {
  const s = get();
  if (s.readOnly) return 0;
  const taken = {
    nodeIds: new Set(s.nodes.filter(isBatonNode).map((n) => n.id)),
    edgeIds: new Set(s.edges.map((e) => e.id)),
    noteIds: new Set(s.nodes.filter(isStickyNode).map((n) => n.id.slice(NOTE_PREFIX.length))),
  };
  const pasted = preparePaste(doc, taken, placement);
  const added: FlowNode[] = [
    ...pasted.nodes.map((n) => ({ ...nodeToFlow(n, n.position!), selected: true })),
    ...pasted.notes.map((n) => ({ ...noteToFlow(n), selected: true })),
  ];
  if (added.length === 0) return 0;
  const nodes = [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...added];
  applyEdit({ nodes, edges: [...s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)), ...pasted.edges.map(edgeToFlow)] });
  return added.length;
}

export function copySelection(): GraphDocument | null {
  const s = get();
  const doc = selectionToDocument({ nodes: s.nodes, edges: s.edges });
  return doc.nodes.length || doc.ui?.notes?.length ? doc : null;
}

export function duplicateSelection(): void {
  const doc = copySelection();
  if (doc) pasteDocument(doc, { offset: 40 });
}

function withLayout(nodes: FlowNode[], edges: FlowEdge[]): FlowNode[] {
  const boxes = nodes.filter(isBatonNode).map((n) => ({ id: n.id, ...defaultSize(n) }));
  const positions = layoutPositions(
    boxes,
    edges.map((e) => ({ source: e.source, target: e.target, loop: !!e.data?.spec?.loop })),
  );
  return nodes.map((n) => {
    const p = positions.get(n.id);
    return p ? { ...n, position: p } : n;
  });
}

export function autoLayout(): void {
  const s = get();
  if (s.readOnly) return;
  applyEdit({ nodes: withLayout(s.nodes, s.edges), edges: s.edges });
  requestAnimationFrame(() => fitAll());
}

/** Fit every node into view (Shift+1, the "Fit view" control, Tidy up).
 * Not `flow.fitView()`: React Flow fits only measured nodes and runs a fit
 * only once every node is measured, but past a few hundred nodes only the
 * visible ones are mounted (Canvas: onlyRenderVisibleElements), so that fit
 * would never happen, or happen later, on the next node measured. The
 * bounds here use the declared sizes of the unmounted nodes. */
export function fitAll(duration = 300): void {
  const { flow, nodes } = get();
  if (!flow || nodes.length === 0) return;
  void flow.fitBounds(flow.getNodesBounds(nodes), { padding: 0.15, duration });
}

export function undoEdit(): void {
  const s = get();
  if (s.readOnly || !canUndo(s.history)) return;
  restore(undo(s.history));
}

export function redoEdit(): void {
  const s = get();
  if (s.readOnly || !canRedo(s.history)) return;
  restore(redo(s.history));
}

function restore(history: History<FlowState>): void {
  const s = get();
  set({
    history,
    nodes: history.present.nodes,
    edges: history.present.edges,
    editSeq: s.editSeq + 1,
    saveState: s.saveState === "conflict" ? "conflict" : "dirty",
  });
  refreshDerived();
  scheduleSave();
}

/* ------------------------------------------------------------ derived */

function sameIssues(a: Issue[] | undefined, b: Issue[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x.message === b[i].message && x.field === b[i].field && x.level === b[i].level);
}

/** Recompute client checks and the per-node maps, keeping unchanged entries. */
export function refreshDerived(): void {
  const s = get();
  const doc = currentGraph();
  const clientIssues = graphIssues(doc, s.catalog);
  const clientKeys = new Set(clientIssues.map((i) => `${i.node_id}|${i.field}`));
  // The server's messages for a field the client already flags would say the same twice.
  const server = s.serverIssues.filter((i) => !i.field || !clientKeys.has(`${i.node_id}|${i.field}`));
  const ids = new Set(doc.nodes.map((n) => n.id));
  const grouped: Record<string, Issue[]> = {};
  const globalIssues: Issue[] = [];
  for (const issue of [...clientIssues, ...server]) {
    if (issue.node_id && ids.has(issue.node_id)) (grouped[issue.node_id] ??= []).push(issue);
    else if (!issue.node_id) globalIssues.push(issue);
  }
  const issuesByNode: Record<string, Issue[]> = {};
  for (const [id, list] of Object.entries(grouped)) {
    issuesByNode[id] = sameIssues(s.issuesByNode[id], list) ? s.issuesByNode[id] : list;
  }
  const extraPortsByNode: Record<string, string> = {};
  for (const edge of s.edges) {
    const port = edge.sourceHandle ?? DEFAULT_PORT;
    extraPortsByNode[edge.source] = extraPortsByNode[edge.source] ? `${extraPortsByNode[edge.source]}|${port}` : port;
  }
  set({ clientIssues, issuesByNode, globalIssues, extraPortsByNode });
}

export function allIssues(s: EditorState): Issue[] {
  return [...Object.values(s.issuesByNode).flat(), ...s.globalIssues];
}

export function errorCount(s: EditorState): number {
  return allIssues(s).filter((i) => i.level === "error").length;
}

/* ------------------------------------------------------------ saving */

function scheduleSave(): void {
  clearTimeout(saveTimer);
  if (get().saveState === "conflict") return;
  saveTimer = setTimeout(() => void saveNow(), SAVE_DELAY_MS);
}

/** Save the draft now (if it has unsaved edits); resolves when saved. */
export async function saveNow(): Promise<void> {
  clearTimeout(saveTimer);
  if (saving) {
    await saving;
    if (get().editSeq !== get().savedSeq) return saveNow();
    return;
  }
  const s = get();
  if (s.readOnly || s.saveState === "conflict" || s.editSeq === s.savedSeq) return;
  saving = doSave().finally(() => {
    saving = null;
  });
  await saving;
}

async function doSave(): Promise<void> {
  const s = get();
  const seq = s.editSeq;
  const graph = currentGraph();
  set({ saveState: "saving", saveError: null });
  try {
    const workflow = await s.api.saveDraft(s.config.workflowId, graph, s.revision);
    const after = get();
    set({
      revision: workflow.revision ?? after.revision + 1,
      savedSeq: seq,
      saveState: after.editSeq === seq ? "saved" : "dirty",
      publishedVersion: workflow.published_version ?? after.publishedVersion,
    });
    if (get().editSeq !== seq) scheduleSave();
    void validateOnServer(graph);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && (await isOwnWrite(graph, seq))) return;
    handleSaveError(error);
  }
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** A 409 can be our own earlier write whose answer never arrived (a retry
 * after a network error). If the stored draft is exactly what we sent, adopt
 * its revision instead of reporting a conflict. */
async function isOwnWrite(sent: GraphDocument, seq: number): Promise<boolean> {
  const s = get();
  try {
    const stored = await s.api.workflow(s.config.workflowId);
    if (canonical(stored.graph) !== canonical(sent)) return false;
    const after = get();
    set({ revision: stored.revision, savedSeq: seq, saveState: after.editSeq === seq ? "saved" : "dirty", saveError: null });
    if (after.editSeq !== seq) scheduleSave();
    return true;
  } catch {
    return false;
  }
}

function handleSaveError(error: unknown): void {
  if (error instanceof ApiError && error.status === 409) {
    const body = error.body ?? {};
    set({
      saveState: "conflict",
      conflict: {
        currentRevision: typeof body.current_revision === "number" ? body.current_revision : null,
        graph: body.graph && typeof body.graph === "object" ? body.graph : null,
      },
    });
    return;
  }
  if (error instanceof ApiError && error.status === 400 && error.errors.length) {
    const serverIssues = error.errors.map((raw: any) => ({
      node_id: raw?.node_id ?? null,
      field: raw?.field ?? null,
      message: String(raw?.message ?? raw),
      level: "error" as const,
      source: "server" as const,
    }));
    set({ saveState: "error", saveError: "The server refused this draft: fix the problems listed.", serverIssues, serverValid: false });
    refreshDerived();
    return;
  }
  set({ saveState: "error", saveError: describeError(error) });
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => void saveNow(), RETRY_DELAY_MS);
}

/** "Reload theirs": drop local edits and show the stored draft. */
export async function reloadTheirs(): Promise<void> {
  const s = get();
  const workflow = await s.api.workflow(s.config.workflowId);
  set({
    conflict: null,
    saveState: "saved",
    saveError: null,
    editSeq: 0,
    savedSeq: 0,
    workflowName: workflow.name,
    ...publishedOf(workflow),
  });
  replaceGraph(workflow.graph ?? emptyGraph(), { resetHistory: true, revision: workflow.revision });
  void validateOnServer();
  announce("Loaded the latest saved version.");
}

/** "Keep mine as a copy": a new workflow holding the local graph. Returns its URL. */
export async function keepMineAsCopy(): Promise<string> {
  const s = get();
  const created = await s.api.createWorkflow({
    workspace: s.config.workspace,
    name: `${s.workflowName} (copy)`,
    description: s.description,
    graph: currentGraph(),
  });
  return editorUrlFor(created.id);
}

export function editorUrlFor(id: string): string {
  const { config } = get();
  if (config.editorUrl) return config.editorUrl.replace("{id}", id);
  const path = window.location.pathname;
  return path.includes(config.workflowId) ? path.replace(config.workflowId, id) : `/workflows/${id}/`;
}

/* ------------------------------------------------------------ validation */

export async function validateOnServer(graph?: GraphDocument): Promise<void> {
  const s = get();
  const seq = ++validateSeq;
  try {
    const result = await s.api.validate(s.config.workflowId, graph);
    if (seq !== validateSeq) return;
    set({ serverIssues: [...result.errors, ...result.warnings], serverValid: result.valid });
    refreshDerived();
  } catch {
    // Validation is advisory here; the client checks still show problems.
  }
}

/* ------------------------------------------------------------ runs */

let stopLive: (() => void) | undefined;

/** How far along a step is, to tell the newer of two reports of one node:
 * a later visit, then more attempts, then queued < waiting < running < ended. */
const PROGRESS: Record<string, number> = { pending: 0, queued: 0, waiting: 1, running: 2 };
function ahead(a: Step, b: Step): boolean {
  if (a.visit !== b.visit) return a.visit > b.visit;
  if ((a.attempts ?? 0) !== (b.attempts ?? 0)) return (a.attempts ?? 0) > (b.attempts ?? 0);
  return (PROGRESS[a.status] ?? 3) > (PROGRESS[b.status] ?? 3);
}

/** A step's fields that the canvas shows (status, visit, attempts, port, times). */
function sameShown(a: Step & { port?: string | null }, b: Step & { port?: string | null }): boolean {
  return (
    a.status === b.status &&
    a.visit === b.visit &&
    a.attempts === b.attempts &&
    (a.port ?? null) === (b.port ?? null) &&
    a.started_at === b.started_at &&
    a.finished_at === b.finished_at
  );
}

/** Show a run read from the API.
 *
 * While the run's socket delivers its events (`statusFromEvents`, pollRun),
 * they alone move the statuses, in order and a bounded number of nodes per
 * frame (watchRun); the snapshot only adds the details (input, output,
 * error, usage) of the visit a node shows. Taking its statuses too would
 * move every node the events have not reached yet in one frame.
 * Otherwise (no socket, or before it connects) the snapshot is all there
 * is, but it can still be older than events shown earlier (it was read up
 * to a second ago): a node keeps a status that is further along. A finished
 * run's snapshot is final. */
export function showRun(run: Run | null, options: { statusFromEvents?: boolean } = {}): void {
  const s = get();
  const previous = run && s.run?.id === run.id ? s.stepsByNode : {};
  const final = !!run && TERMINAL_RUN_STATUSES.has(run.status);
  const latest = latestSteps(run?.steps ?? []);
  const stepsByNode: Record<string, Step> = final ? {} : { ...previous };
  const eventsRule = !final && !!options.statusFromEvents;
  for (const [id, step] of latest) {
    const old = previous[id];
    if (eventsRule) {
      if (old && old.visit === step.visit && !sameDetails(old, step)) {
        const next = { ...step, ...shownOf(old) };
        if (fromSnapshot.has(old)) fromSnapshot.add(next);
        stepsByNode[id] = next;
      }
      continue;
    }
    if (!old || final || !ahead(old, step)) {
      const next = old && sameShown(old, step) && sameDetails(old, step) ? old : step;
      if (next !== old || fromSnapshot.has(old)) fromSnapshot.add(next);
      stepsByNode[id] = next;
    } else if (old.visit === step.visit) stepsByNode[id] = { ...step, ...shownOf(old) };
    // else: the events are on a later visit than the snapshot: keep them
  }
  set({ run, stepsByNode, runBusy: busy(stepsByNode) });
}

/** Past this many active nodes the run view stops animating (runBusy), and
 * starts again at CALM_AT or fewer (switching restyles the whole canvas, so
 * not back and forth around one number). */
export const BUSY_ABOVE = 24;
export const CALM_AT = 16;
const ACTIVE = new Set(["queued", "waiting", "running"]);

function busy(steps: Record<string, Step>): boolean {
  const limit = get().runBusy ? CALM_AT : BUSY_ABOVE;
  let active = 0;
  for (const id in steps) if (ACTIVE.has(steps[id].status) && ++active > limit) return true;
  return false;
}

/** Steps whose status came from an API snapshot rather than from events. */
const fromSnapshot = new WeakSet<Step>();

function shownOf(step: Step & { port?: string | null }): Partial<Step> {
  return {
    status: step.status,
    visit: step.visit,
    attempts: step.attempts,
    started_at: step.started_at,
    finished_at: step.finished_at,
    ...(step.port !== undefined ? { port: step.port } : {}),
  } as Partial<Step>;
}

function sameDetails(a: Step, b: Step): boolean {
  return a.input === b.input && a.output === b.output && a.error === b.error && a.usage === b.usage && a.cost_usd === b.cost_usd;
}

/** Changed steps from a live source (the run socket, src/live): merged into
 * the per-node map. A node keeps the details the API gave for the same
 * visit. Node components select only the fields they show, so only nodes
 * whose status changed re-render. */
export function mergeLiveSteps(steps: Record<string, Step>): void {
  set((s) => {
    const stepsByNode = { ...s.stepsByNode };
    for (const [id, step] of Object.entries(steps)) {
      const old = stepsByNode[id];
      // Events arrive in order, so each is newer than the last event shown;
      // but a snapshot read while the socket lagged can be newer still.
      if (old && fromSnapshot.has(old) && ahead(old, step)) continue;
      stepsByNode[id] = old && old.visit === step.visit ? { ...old, ...step } : step;
    }
    return { stepsByNode, runBusy: busy(stepsByNode) };
  });
}

/** Watch a run live over its WebSocket (frontend/src/live): statuses from
 * the events, once per frame; details re-read from the API at most once a second. */
export function pollRun(runId: string): void {
  stopLive?.();
  let announced = false;
  stopLive = liveRun(runId, {
    fetchRun: () => get().api.run(runId),
    onSteps: (steps) => {
      if (get().run?.id !== runId) return;
      mergeLiveSteps(steps);
    },
    onRun: (run, live) => {
      if (get().run && get().run!.id !== runId) return;
      showRun(run, { statusFromEvents: live });
      if (TERMINAL_RUN_STATUSES.has(run.status) && !announced) {
        announced = true;
        announce(`Test run ${run.status}.`, run.status === "succeeded" ? "success" : "error");
        stopLive?.();
      }
    },
  });
}

export async function startTestRun(input: unknown): Promise<void> {
  const s = get();
  await saveNow();
  if (get().saveState === "conflict") throw new Error("Resolve the save conflict before running.");
  const run = await s.api.startRun(s.config.workflowId, input);
  showRun({ ...run, steps: run.steps ?? [] });
  announce("Test run started.");
  if (!TERMINAL_RUN_STATUSES.has(run.status)) pollRun(run.id);
}

export function clearRun(): void {
  stopLive?.();
  stopLive = undefined;
  set({ run: null, stepsByNode: {}, runBusy: false });
}

export function hasUnsavedEdits(): boolean {
  const s = get();
  return s.editSeq !== s.savedSeq;
}
