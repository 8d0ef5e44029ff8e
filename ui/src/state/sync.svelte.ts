// The sync badge's state: `sync_info` once at start (and every few seconds as a fallback), then
// every `sync-changed` event the background task emits.

import { api, asAppError, type SyncInfo } from "../lib/api";

export const sync = $state({
  info: null as SyncInfo | null,
  error: null as string | null,
});

const POLL_MS = 5000;

export async function refreshSync(): Promise<void> {
  try {
    sync.info = await api.syncInfo();
    sync.error = null;
  } catch (e) {
    sync.error = asAppError(e).message;
  }
}

/** Starts listening; returns the stop function. */
export function startSync(): () => void {
  let unlisten: (() => void) | null = null;
  let stopped = false;
  api
    .onSyncChanged((info) => {
      sync.info = info;
      sync.error = null;
    })
    .then((u) => (stopped ? u() : (unlisten = u)))
    .catch((e) => (sync.error = asAppError(e).message));
  void refreshSync();
  const timer = setInterval(refreshSync, POLL_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    unlisten?.();
  };
}

export async function syncNow(): Promise<void> {
  try {
    await api.syncNow();
  } catch (e) {
    sync.error = asAppError(e).message;
  }
}

/** "true" / "false" / "unknown", as the badge's data-online says. */
export function onlineAttr(info: SyncInfo | null): "true" | "false" | "unknown" {
  if (!info || info.online === null) return "unknown";
  return info.online ? "true" : "false";
}
