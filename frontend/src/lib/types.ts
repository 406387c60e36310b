/** Shapes of the public contract (sections 1, 3 and 4) as the canvas sees them. */

export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
export type JSONObject = { [key: string]: JSONValue };
export type JSONSchema = { [key: string]: any };

export interface Position {
  x: number;
  y: number;
}

export interface RetryPolicy {
  max_attempts?: number;
  backoff_s?: number;
  backoff_factor?: number;
}

/** One node of the graph document; unknown keys are kept as they are. */
export interface GraphNode {
  id: string;
  type: string;
  type_version?: number;
  name?: string;
  notes?: string;
  config?: JSONObject;
  position?: Position;
  retry?: RetryPolicy;
  timeout_s?: number;
  join?: "all" | "any";
  max_visits?: number;
  disabled?: boolean;
  [key: string]: unknown;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  source_port?: string;
  loop?: boolean;
  [key: string]: unknown;
}

export interface StickyNote {
  id: string;
  text: string;
  position: Position;
  size?: { width: number; height: number };
}

/** The workflow definition. `ui` holds presentation-only data (sticky notes). */
export interface GraphDocument {
  version: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  ui?: { notes?: StickyNote[]; [key: string]: unknown };
  [key: string]: unknown;
}

export interface NodeType {
  key: string;
  version: number;
  category: string;
  label: string;
  description: string;
  config_schema: JSONSchema;
  ports: string[];
  dynamic_ports: boolean;
  error_port: boolean;
  output_schema: JSONSchema;
  expression_fields: string[];
  is_trigger: boolean;
}

export type Catalog = Map<string, NodeType>;

export interface ScheduleTimes {
  node_id: string;
  cron: string;
  timezone: string;
  next_fire_at: string | null;
  last_fired_at: string | null;
}

export interface Workflow {
  id: string;
  workspace: string;
  name: string;
  description?: string;
  graph: GraphDocument;
  revision: number;
  published_version?: number | null;
  /** The published version's webhook triggers and their URLs. */
  hooks?: { node_id: string; url: string }[];
  /** The published version's schedule triggers: when each fires next (UTC, ISO 8601). */
  schedules?: ScheduleTimes[];
  created_at?: string;
  updated_at?: string;
}

export type StepStatus =
  | "pending"
  | "queued"
  | "running"
  | "waiting"
  | "succeeded"
  | "failed"
  | "skipped"
  | "cancelled";

export type RunStatus = "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";

export interface Step {
  node_id: string;
  visit: number;
  status: StepStatus;
  attempts: number;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  started_at?: string | null;
  finished_at?: string | null;
  usage?: { input_tokens?: number; output_tokens?: number } | null;
  cost_usd?: number | null;
}

export interface Run {
  id: string;
  workflow?: string;
  version?: number | string | null;
  status: RunStatus;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  started_at?: string | null;
  finished_at?: string | null;
  steps: Step[];
  graph?: GraphDocument;
}

/** A validation message, from the server (`/validate/`) or from the client checks. */
export interface Issue {
  node_id: string | null;
  field: string | null;
  message: string;
  code?: string;
  level: "error" | "warning";
  source: "server" | "client";
}

export interface CanvasConfig {
  workflowId: string;
  workspace: string;
  apiBase: string;
  wsBase: string;
  csrfToken: string;
  canEdit: boolean;
  canRun: boolean;
  canPublish: boolean;
  /** Publishing by this user makes a publish request (the workspace reviews publishing and the user is not an admin). */
  publishNeedsReview?: boolean;
  user: { id: number; username: string };
  mode: "edit" | "run";
  runId: string | null;
  /** Optional: URL of another workflow's editor, with `{id}` in place of its id. */
  editorUrl?: string;
}
