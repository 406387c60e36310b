/**
 * Who else has this workflow's editor open, and a notice when someone else
 * saves a new revision of the draft (the workflow socket, `?editor=1`).
 */
import { useEffect, useRef, useState } from "react";
import { liveUrl, watch, type LiveNotice } from "./client";

interface Editor {
  id: number;
  username: string;
}

export interface PresenceProps {
  workflowId: string;
  me: number;
  /** the draft revision this editor holds */
  revision: number;
  /** someone else saved `revision`: offer a reload */
  onRevision?: (revision: number, by: string) => void;
}

export function Presence({ workflowId, me, revision, onRevision }: PresenceProps) {
  const [others, setOthers] = useState<Editor[]>([]);
  // Read at notice time, so that a save of our own does not reconnect the socket.
  const latest = useRef({ revision, onRevision });
  latest.current = { revision, onRevision };
  useEffect(() => {
    const connection = watch({
      url: liveUrl(`/ws/workflows/${workflowId}/?editor=1`),
      onEvents: () => undefined,
      onNotice: (notice: LiveNotice) => {
        if (notice.kind === "presence") setOthers((notice.editors as Editor[]).filter((e) => e.id !== me));
        const by = notice.by as Editor | null | undefined;
        const { revision: held, onRevision: tell } = latest.current;
        if (notice.kind === "revision" && by && by.id !== me && (notice.revision as number) > held) {
          tell?.(notice.revision as number, by.username);
        }
      },
    });
    return () => connection.stop();
  }, [workflowId, me]);
  if (!others.length) return null;
  const names = others.map((e) => e.username).join(", ");
  return (
    <span className="bt-presence bt-muted" role="status" title={`Also editing: ${names}`}>
      <span aria-hidden="true">●</span> Also editing: {names}
    </span>
  );
}
