import type { MethodConfiguration } from "../model/index.js";
import type { CallPurpose, GraphClient } from "./client.js";
import { UnexpectedResponseError } from "./errors.js";

// The hardware OATH method's configuration and its targets' group memberships, for the preflight.
// Sources (microsoftgraph/microsoft-graph-docs-contrib, beta):
// - api-reference/beta/api/hardwareoathauthenticationmethodconfiguration-get.md: GET
//   /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/hardwareOath with
//   Policy.Read.All (least privileged) or Policy.ReadWrite.AuthenticationMethod. Its example answer
//   wraps the object in {"value": {...}}; graph-api.md shows it plain: both are read.
// - api-reference/beta/api/directoryobject-checkmembergroups.md: POST /users/{id}/checkMemberGroups
//   {groupIds: [≤ 20]} answers the ids the user belongs to, transitively; an app needs User.Read.All
//   and GroupMember.Read.All.

const CONFIGURATION = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/hardwareOath";
export const READ_METHOD_POLICY: CallPurpose = { operation: "read the hardware OATH method's configuration in the authentication methods policy", permission: "Policy.Read.All" };
export const CHECK_MEMBERSHIP: CallPurpose = { operation: "check users' membership of the hardware OATH method's target groups", permission: "GroupMember.Read.All (with User.Read.All)" };
/** The most group ids checkMemberGroups takes at once. */
const MAX_GROUPS_PER_CHECK = 20;

export async function readMethodConfiguration(client: GraphClient): Promise<MethodConfiguration> {
  const answer = await client.send("GET", CONFIGURATION, READ_METHOD_POLICY);
  const bad = (why: string) => new UnexpectedResponseError(`Graph answered a request to ${READ_METHOD_POLICY.operation} with something we cannot read (${why})`, READ_METHOD_POLICY.operation);
  if (typeof answer !== "object" || answer === null) throw bad("not an object");
  const config: object = "value" in answer && typeof answer.value === "object" && answer.value !== null && !Array.isArray(answer.value) ? answer.value : answer;
  const state = Reflect.get(config, "state");
  if (state !== "enabled" && state !== "disabled") throw bad(`state ${JSON.stringify(state)}`);
  const targets = (name: string): string[] => {
    const list: unknown = Reflect.get(config, name) ?? [];
    if (!Array.isArray(list)) throw bad(`${name} is not a list`);
    return list.map((t: unknown) => {
      const id: unknown = typeof t === "object" && t !== null ? Reflect.get(t, "id") : undefined;
      if (typeof id !== "string") throw bad(`a target in ${name} has no id`);
      return id;
    });
  };
  return { state, includeTargets: targets("includeTargets"), excludeTargets: targets("excludeTargets") };
}

/** Which of `groupIds` each user belongs to: one checkMemberGroups per user and 20 groups, sent 20 per $batch. */
export async function memberGroups(client: GraphClient, userIds: readonly string[], groupIds: readonly string[], concurrency = 4): Promise<Map<string, Set<string>>> {
  const chunks: string[][] = [];
  for (let i = 0; i < groupIds.length; i += MAX_GROUPS_PER_CHECK) chunks.push(groupIds.slice(i, i + MAX_GROUPS_PER_CHECK));
  const asks = userIds.flatMap((userId) => chunks.map((chunk) => ({ userId, chunk })));
  const outcomes = await client.batch(
    asks.map((a) => ({ method: "POST" as const, url: `/users/${encodeURIComponent(a.userId)}/checkMemberGroups`, body: { groupIds: a.chunk } })),
    CHECK_MEMBERSHIP,
    concurrency,
  );
  const result = new Map<string, Set<string>>(userIds.map((id) => [id, new Set<string>()]));
  asks.forEach((ask, index) => {
    const outcome = outcomes[index]!;
    if (!outcome.ok) throw outcome.error;
    const value: unknown = typeof outcome.body === "object" && outcome.body !== null ? Reflect.get(outcome.body, "value") : undefined;
    if (!Array.isArray(value)) throw new UnexpectedResponseError(`Graph answered a request to ${CHECK_MEMBERSHIP.operation} without a "value" list`, CHECK_MEMBERSHIP.operation);
    // Only ids we asked about count: an answer naming others is not evidence of membership.
    for (const id of value) if (typeof id === "string" && ask.chunk.includes(id)) result.get(ask.userId)!.add(id);
  });
  return result;
}
