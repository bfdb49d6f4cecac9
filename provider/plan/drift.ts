import { DRIFT_CATEGORIES, type Desired, type DriftCategory, type DriftItem, type LiveState } from "../model/index.js";
import { assigneeLabel, attributeChanges, indexBySerial, lookupUser, serialKey } from "./compare.js";
import { STALE_FIX, staleDays, staleMessage } from "./stale.js";

// Drift: where the tenant differs from tokens.yaml, classified so a reader can triage. Pure.

/** `now` (ms) turns on the stale notices of policy.staleAfterDays; without it the function reads no clock. */
export function classifyDrift(desired: Desired, live: LiveState, now?: number): DriftItem[] {
  const items: DriftItem[] = [];
  const liveBySerial = indexBySerial(live.devices);
  const odd = new Map((live.oddDevices ?? []).map((d) => [serialKey(d.serial), d]));
  const portal = new Map([...(live.userMethods?.values() ?? [])].flatMap((m) => m.portalTokens).map((t) => [serialKey(t.serial), t]));
  for (const token of desired.tokens) {
    const device = liveBySerial.get(serialKey(token.serial));
    const wanted = token.upn === undefined ? token.state : `${token.state} to ${token.upn}`;
    const add = (category: DriftCategory, liveText: string, fix: string) =>
      items.push({ category, serial: token.serial, ...(token.upn === undefined ? {} : { user: token.upn }), desired: wanted, live: liveText, fix, location: token.location });
    const oddDevice = odd.get(serialKey(token.serial));
    if (oddDevice) {
      add("attributeMismatch", `${oddDevice.why}, which entra-tokens cannot model (left alone)`, "check the token in the Entra admin center and correct or delete it there");
      continue;
    }
    const portalToken = portal.get(serialKey(token.serial));
    if (!device && portalToken && token.state !== "retired") {
      add("missing", `uploaded through the admin portal (method id ${portalToken.id}), not in the inventory`, "migrate it as docs/entra-rules.md says (delete the portal token, then `entra-tokens apply`)");
      continue;
    }
    if (!device) {
      if (token.state === "retired") continue;
      add("missing", "not in the tenant", "run `entra-tokens apply` (the token's seed must be in a seed file)");
      continue;
    }
    const holder = assigneeLabel(device, live.directory);
    const liveText = holder === undefined ? device.status : `${device.status}, held by ${holder}`;
    if (token.state === "retired") {
      add("notRetired", liveText, "run `entra-tokens apply` to unassign and delete it");
      continue;
    }
    if (token.upn !== undefined) {
      const user = lookupUser(live.directory, token.upn);
      if (!user) add("orphaned", liveText, `${token.upn} no longer exists: run \`entra-tokens leaver ${token.upn}\` (and collect the token), or give it to someone else`);
      else if (!user.accountEnabled) add("orphaned", liveText, `${token.upn} is disabled: run \`entra-tokens leaver ${token.upn}\` to return it to the pool`);
    }
    const targetId = token.upn === undefined ? undefined : lookupUser(live.directory, token.upn)?.id;
    const returnedByHolder = token.returnedBy !== undefined && lookupUser(live.directory, token.returnedBy)?.id === device.assignedTo?.id;
    if (token.state === "available" && holder !== undefined && (desired.policy.selfService ?? "keep") === "keep" && !returnedByHolder) {
      // Kept by policy: a notice, and its attributes are the holder's business until it returns to the pool.
      add("selfServiceClaim", liveText, `record it in tokens.yaml with \`entra-tokens import --self-service\`, or set \`policy.selfService: revoke\``);
      continue;
    } else if (token.state === "available" && holder !== undefined) {
      add("unexpectedAssignee", liveText, `record it in tokens.yaml (\`state: assigned\`, \`upn: ${holder}\`), or \`entra-tokens apply\` returns it to the pool`);
    } else if (token.state !== "available" && targetId !== undefined && device.assignedTo?.id !== targetId) {
      add("unexpectedAssignee", holder === undefined ? `${device.status}, unassigned` : liveText, "run `entra-tokens apply` to assign it as tokens.yaml says, or correct tokens.yaml");
    }
    if (device.status === "failedActivation") {
      add("failedActivation", liveText, token.state === "activated" ? "run `entra-tokens apply` to activate it again (check the seed matches the token)" : "ask the user to activate it again in My Security Info");
    } else if (token.state === "activated" && device.status === "assigned" && device.assignedTo?.id === targetId) {
      add("notActivated", liveText, "run `entra-tokens apply` to activate it");
    }
    const changes = attributeChanges(token, device);
    if (changes.length > 0) {
      add("attributeMismatch", changes.map((c) => `${c.field}=${JSON.stringify(c.from)}`).join(", "), `tokens.yaml says ${changes.map((c) => `${c.field}=${JSON.stringify(c.to)}`).join(", ")}; run \`entra-tokens apply\` (only unassigned tokens can be changed)`);
    }
    if (device.status === "activated" && device.lastUsedDateTime === undefined) {
      add("neverUsed", liveText, "the token was activated but never used to sign in: check the user still has it");
    }
    const stale = staleDays(device, desired, now);
    if (stale !== undefined && device.lastUsedDateTime !== undefined && desired.policy.staleAfterDays !== undefined) {
      add("stale", `${liveText}; ${staleMessage(stale, device.lastUsedDateTime, desired.policy.staleAfterDays)}`, STALE_FIX);
    }
  }
  if (desired.policy.unmanaged !== "ignore") {
    const declared = new Set(desired.tokens.map((t) => serialKey(t.serial)));
    for (const device of live.devices) {
      if (declared.has(serialKey(device.serial))) continue;
      const holder = assigneeLabel(device, live.directory);
      items.push({
        category: "unmanaged",
        serial: device.serial,
        ...(holder === undefined ? {} : { user: holder }),
        desired: "not in tokens.yaml",
        live: holder === undefined ? device.status : `${device.status}, held by ${holder}`,
        fix: desired.policy.unmanaged === "delete" ? "`entra-tokens apply` deletes it (policy.unmanaged: delete)" : "run `entra-tokens import` to add it to tokens.yaml, or delete it in Entra",
      });
    }
  }
  const rank = (c: DriftCategory) => DRIFT_CATEGORIES.indexOf(c);
  return items.sort((a, b) => rank(a.category) - rank(b.category));
}
