/** Category names and glyphs for the palette and the nodes. */

const CATEGORIES: Record<string, { label: string; icon: string; order: number }> = {
  trigger: { label: "Triggers", icon: "⚡", order: 0 },
  triggers: { label: "Triggers", icon: "⚡", order: 0 },
  ai: { label: "AI", icon: "✦", order: 1 },
  logic: { label: "Logic", icon: "◇", order: 2 },
  data: { label: "Data", icon: "{ }", order: 3 },
  flow: { label: "Flow", icon: "→", order: 4 },
  human: { label: "People", icon: "☺", order: 5 },
  http: { label: "HTTP", icon: "⇄", order: 6 },
  integration: { label: "Integrations", icon: "⇄", order: 6 },
  notify: { label: "Notify", icon: "✉", order: 7 },
};

export function categoryOf(typeKey: string, category?: string): string {
  return (category || typeKey.split(".")[0] || "other").toLowerCase();
}

export function categoryMeta(category: string): { label: string; icon: string; order: number } {
  return CATEGORIES[category] ?? { label: category.charAt(0).toUpperCase() + category.slice(1), icon: "◆", order: 50 };
}
