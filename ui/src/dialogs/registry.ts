// Dialog kind → component. Each dialog gets `entry` (its id and props) and closes itself with
// closeDialog(entry.id, result).

import type { Component } from "svelte";
import type { DialogEntry, DialogKind } from "../state/dialogs.svelte";
import Help from "./Help.svelte";
import SyncDetails from "./SyncDetails.svelte";
import Park from "./Park.svelte";
import Tabs from "./Tabs.svelte";
import Amount from "./Amount.svelte";
import Note from "./Note.svelte";
import Confirm from "./Confirm.svelte";

export const DIALOGS: Record<DialogKind, { title: string; component: Component<{ entry: DialogEntry }> }> = {
  help: { title: "Keyboard shortcuts", component: Help },
  sync: { title: "Sync", component: SyncDetails },
  park: { title: "Park as a tab", component: Park },
  tabs: { title: "Open tabs", component: Tabs },
  amount: { title: "Discount", component: Amount },
  note: { title: "Order note", component: Note },
  confirm: { title: "Confirm", component: Confirm },
};
