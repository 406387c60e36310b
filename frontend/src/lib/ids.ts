/** Node and edge ids. Node ids must match the contract's pattern so that
 * expressions can say `nodes.<id>`. */

export const NODE_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function isValidNodeId(id: string): boolean {
  return NODE_ID_PATTERN.test(id);
}

/** A readable id stem from a type key or a name: "ai.llm" -> "llm". */
export function idStem(text: string): string {
  const last = text.includes(".") ? text.slice(text.lastIndexOf(".") + 1) : text;
  let stem = last
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!stem) stem = "node";
  if (/^[0-9]/.test(stem)) stem = `n_${stem}`;
  return stem.slice(0, 56);
}

/** `stem` if free, else `stem_2`, `stem_3`, ... The chosen id is added to `taken`. */
export function uniqueId(stem: string, taken: Set<string>): string {
  let id = stem;
  if (taken.has(id)) {
    const base = stem.replace(/_\d+$/, "");
    let n = 2;
    while (taken.has(`${base}_${n}`)) n += 1;
    id = `${base}_${n}`;
  }
  taken.add(id);
  return id;
}

/** An id for a new node of `typeKey` that no node of the graph uses yet. */
export function newNodeId(typeKey: string, taken: Set<string>): string {
  return uniqueId(`${idStem(typeKey)}_1`, taken);
}

export function newEdgeId(taken: Set<string>): string {
  return uniqueId("e_1", taken);
}
