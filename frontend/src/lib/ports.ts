/** Output ports of a node, as contract sections 1 and 3 define them. */
import type { JSONObject, NodeType } from "./types";

export const DEFAULT_PORT = "out";
export const ERROR_PORT = "error";

type PortDeriver = (config: JSONObject) => string[];

function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === "string" && v.length > 0);
}

/** Types whose ports follow from their config, keyed by type key. */
const DYNAMIC_PORTS: Record<string, PortDeriver> = {
  "logic.switch": (config) => [...stringList(config.cases), "default"],
  "ai.classify": (config) => {
    const categories = Array.isArray(config.categories) ? config.categories : [];
    const names = categories.map((c) =>
      c && typeof c === "object" && !Array.isArray(c) ? (c as JSONObject).name : c,
    );
    return stringList(names);
  },
};

function unique(ports: string[]): string[] {
  return Array.from(new Set(ports));
}

/** The output ports of a node of `type` with `config`, the error port last. */
export function portsFor(type: NodeType | undefined, config: JSONObject | undefined): string[] {
  if (!type) return [DEFAULT_PORT];
  const derive = type.dynamic_ports ? DYNAMIC_PORTS[type.key] : undefined;
  const ports = derive ? derive(config ?? {}) : [...type.ports];
  const hasError = type.error_port ?? !type.is_trigger;
  const withoutError = unique(ports).filter((p) => p !== ERROR_PORT);
  return hasError ? [...withoutError, ERROR_PORT] : withoutError;
}

export type PortTone = "positive" | "negative" | "danger" | "neutral";

const TONES: Record<string, PortTone> = {
  true: "positive",
  valid: "positive",
  approved: "positive",
  false: "negative",
  invalid: "negative",
  rejected: "negative",
  timeout: "negative",
  error: "danger",
};

export function portTone(port: string): PortTone {
  return TONES[port] ?? "neutral";
}

/** The ports a node shows: its declared ports, then any port that edges
 * still use but the node no longer has (shown as "missing"). */
export function nodePorts(
  type: NodeType | undefined,
  config: JSONObject | undefined,
  usedPorts: Iterable<string>,
): { declared: string[]; missing: string[] } {
  const declared = portsFor(type, config);
  const missing = unique([...usedPorts].filter((p) => !declared.includes(p)));
  return { declared, missing };
}
