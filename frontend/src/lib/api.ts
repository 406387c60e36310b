/** The workflow API (contract section 4): session auth, CSRF header on
 * writes, JSON errors `{detail, errors}`. */
import type { CanvasConfig, GraphDocument, Issue, NodeType, Run, Workflow } from "./types";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public body: any,
  ) {
    super(message);
  }
  get errors(): any[] {
    return Array.isArray(this.body?.errors) ? this.body.errors : [];
  }
}

function cookie(name: string): string {
  const match = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
  return match ? decodeURIComponent(match[1]) : "";
}

/** Text for a person: the server's `detail` or a plain fallback by status. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (typeof error.body?.detail === "string" && error.body.detail) return error.body.detail;
    if (error.status === 403) return "You do not have permission to do this.";
    if (error.status === 404) return "Not found: it may have been deleted.";
    if (error.status >= 500) return "The server had a problem. Try again in a moment.";
    return error.message;
  }
  if (error instanceof TypeError) return "Cannot reach the server. Check your connection.";
  return error instanceof Error ? error.message : String(error);
}

export interface ValidationResult {
  valid: boolean;
  errors: Issue[];
  warnings: Issue[];
}

export interface PublishResult {
  status: "published" | "pending";
  version?: number;
  publish_request?: unknown;
}

export interface WorkflowVersion {
  version?: number;
  number?: number;
  note?: string;
  /** The version's graph (the list and the read endpoint both carry it). */
  graph?: GraphDocument | null;
  /** The draft revision the version was made from. */
  source_revision?: number | null;
  created_at?: string;
  /** Username of whoever published it (null when the account is gone). */
  created_by?: string | null;
  published_by?: unknown;
}

export interface VersionPage {
  versions: WorkflowVersion[];
  /** More (older) versions on a next page. */
  hasMore: boolean;
}

export interface Credential {
  id: string | number;
  name: string;
  kind?: string;
  disabled?: boolean;
}

function list<T>(body: any): T[] {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body.results)) return body.results;
  return [];
}

function toIssues(items: unknown, level: Issue["level"]): Issue[] {
  if (!Array.isArray(items)) return [];
  return items.map((raw: any) => ({
    node_id: typeof raw?.node_id === "string" ? raw.node_id : null,
    field: typeof raw?.field === "string" ? raw.field : null,
    message: typeof raw === "string" ? raw : String(raw?.message ?? raw?.detail ?? "problem"),
    code: raw?.code,
    level,
    source: "server" as const,
  }));
}

export class Api {
  constructor(private config: Pick<CanvasConfig, "apiBase" | "csrfToken" | "workspace">) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = this.config.csrfToken || cookie("csrftoken");
    const base = this.config.apiBase.endsWith("/") ? this.config.apiBase : `${this.config.apiBase}/`;
    const response = await fetch(base + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data: any = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { detail: text.slice(0, 200) };
    }
    if (!response.ok) throw new ApiError(response.status, `${method} ${path}: ${response.status}`, data);
    return data as T;
  }

  async nodeTypes(): Promise<NodeType[]> {
    return list<NodeType>(await this.request("GET", "node-types/"));
  }

  workflow(id: string): Promise<Workflow> {
    return this.request("GET", `workflows/${id}/`);
  }

  saveDraft(id: string, graph: GraphDocument, revision: number): Promise<Workflow> {
    return this.request("PATCH", `workflows/${id}/`, { graph, revision });
  }

  createWorkflow(data: { workspace: string; name: string; description?: string; graph: GraphDocument }): Promise<Workflow> {
    return this.request("POST", "workflows/", data);
  }

  async validate(id: string, graph?: GraphDocument): Promise<ValidationResult> {
    const body = await this.request<any>("POST", `workflows/${id}/validate/`, graph ? { graph } : {});
    return { valid: !!body?.valid, errors: toIssues(body?.errors, "error"), warnings: toIssues(body?.warnings, "warning") };
  }

  publish(id: string, note: string): Promise<PublishResult> {
    return this.request("POST", `workflows/${id}/publish/`, { note });
  }

  async versions(id: string): Promise<WorkflowVersion[]> {
    return list<WorkflowVersion>(await this.request("GET", `workflows/${id}/versions/`));
  }

  /** One page of the version history, newest first (the list is paginated, 50 a page). */
  async versionsPage(id: string, page = 1): Promise<VersionPage> {
    const body = await this.request<any>("GET", `workflows/${id}/versions/?page=${page}`);
    return { versions: list<WorkflowVersion>(body), hasMore: !!body?.next };
  }

  version(id: string, n: number | string): Promise<WorkflowVersion & { graph: GraphDocument }> {
    return this.request("GET", `workflows/${id}/versions/${n}/`);
  }

  startRun(id: string, input: unknown): Promise<Run> {
    return this.request("POST", `workflows/${id}/runs/`, { input, version: "draft" });
  }

  run(id: string): Promise<Run> {
    return this.request("GET", `runs/${id}/`);
  }

  async credentials(): Promise<Credential[]> {
    const ws = encodeURIComponent(this.config.workspace);
    return list<Credential>(await this.request("GET", `credentials/?workspace=${ws}`));
  }
}

export { toIssues };
