import type { LiveToken, Step } from "../model/index.js";

// What Graph's state becomes when steps succeed, as docs/graph-api.md describes each call: the
// provider's outputs and the session's inventory follow the steps it applied instead of reading every
// token back (a read per token would double the Graph cost). Pure: no I/O.

/**
 * The device after `steps` (all for one serial, in plan order) succeeded; `undefined` once deleted
 * or when nothing exists. `createdId` is the id Graph gave a device this run created.
 */
export function deviceAfter(device: LiveToken | undefined, steps: readonly Step[], createdId?: string): LiveToken | undefined {
  let current = device;
  for (const step of steps) {
    switch (step.kind) {
      case "create":
        if (createdId === undefined) return current;
        current = {
          id: createdId,
          serial: step.serial,
          ...step.attributes,
          ...(step.displayName === undefined ? {} : { displayName: step.displayName }),
          // POST/PATCH with assignTo leaves the device assigned; without, available.
          status: step.assignTo ? "assigned" : "available",
          ...(step.assignTo ? { assignedTo: { id: step.assignTo.id } } : {}),
        };
        break;
      case "delete":
        current = undefined;
        break;
      case "unassign":
        if (current) current = withoutHolder({ ...current, status: "available" });
        break;
      case "update":
        if (current) current = { ...current, ...Object.fromEntries(step.changes.map((c) => [c.field, c.to])) };
        break;
      case "assign":
        if (current) current = { ...current, status: "assigned", assignedTo: { id: step.to.id } };
        break;
      case "activate":
        if (current) current = { ...current, status: "activated", ...(step.displayName === undefined ? {} : { displayName: step.displayName }) };
        break;
    }
  }
  return current;
}

function withoutHolder(device: LiveToken): LiveToken {
  const { assignedTo: _gone, ...rest } = device;
  return rest;
}
