import { create } from "zustand";

export type DialogName = "find" | "help" | "publish" | "testRun" | "importErrors" | "versions" | "problems" | null;

interface UiState {
  dialog: DialogName;
  importErrors: string[];
  conflictDismissed: boolean;
  paletteOpen: boolean;
  panelOpen: boolean;
}

export const useUi = create<UiState>(() => ({
  dialog: null,
  importErrors: [],
  conflictDismissed: false,
  // Narrow screens start with the side panels closed (they overlay the canvas there).
  paletteOpen: typeof window === "undefined" || window.innerWidth > 700,
  panelOpen: typeof window === "undefined" || window.innerWidth > 700,
}));

export const openDialog = (dialog: DialogName) => useUi.setState({ dialog });
export const closeDialog = () => useUi.setState({ dialog: null });
