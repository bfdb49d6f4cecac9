import { randomUUID } from "node:crypto";
import { GraphError } from "./tenant.js";

// The hardware OATH method's configuration in the authentication methods policy, and the groups its
// targets name. Sources (microsoftgraph/microsoft-graph-docs-contrib, beta):
// - api-reference/beta/api/hardwareoathauthenticationmethodconfiguration-get.md: GET
//   /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/hardwareOath, permission
//   Policy.Read.All (least) or Policy.ReadWrite.AuthenticationMethod; `state`, `includeTargets`,
//   `excludeTargets`, a target being {targetType: "group", id: "all_users" | group id}.
// - api-reference/beta/api/directoryobject-checkmembergroups.md: POST /users/{id|upn}/checkMemberGroups
//   {groupIds: [≤ 20]} → {value: [the ids the user is a member of, transitively]}; an app needs
//   User.Read.All and GroupMember.Read.All (or Group.Read.All; Directory.Read.All alone also serves).

export interface MethodTarget {
  targetType: "group";
  id: string;
  isRegistrationRequired?: boolean;
}

export interface HardwareOathConfiguration {
  state: "enabled" | "disabled";
  includeTargets: MethodTarget[];
  excludeTargets: MethodTarget[];
}

export interface Group {
  id: string;
  displayName: string;
  /** User ids and group ids (nested groups count transitively). */
  members: string[];
}

export const ALL_USERS = "all_users";
export const MAX_CHECK_GROUPS = 20;

/** A new tenant: the method enabled for all users, as the demo tenant has it. */
export function defaultConfiguration(): HardwareOathConfiguration {
  return { state: "enabled", includeTargets: [{ targetType: "group", id: ALL_USERS, isRegistrationRequired: false }], excludeTargets: [] };
}

export class MethodPolicy {
  configuration: HardwareOathConfiguration;
  private readonly groups = new Map<string, Group>();

  constructor(configuration?: HardwareOathConfiguration, groups: readonly Group[] = []) {
    this.configuration = configuration ?? defaultConfiguration();
    for (const group of groups) this.groups.set(group.id, { ...group, members: [...group.members] });
  }

  addGroup(fields: { id?: string; displayName: string; members?: string[] }): Group {
    const group = { id: fields.id ?? randomUUID(), displayName: fields.displayName, members: [...(fields.members ?? [])] };
    this.groups.set(group.id, group);
    return group;
  }

  allGroups(): Group[] {
    return [...this.groups.values()].map((g) => ({ ...g, members: [...g.members] }));
  }

  /** The configuration as Graph serves it. */
  json(): object {
    return {
      "@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration",
      id: "HardwareOath",
      state: this.configuration.state,
      includeTargets: this.configuration.includeTargets.map((t) => ({ ...t })),
      excludeTargets: this.configuration.excludeTargets.map((t) => ({ ...t })),
    };
  }

  /** checkMemberGroups: which of `groupIds` the user belongs to, transitively. */
  checkMemberGroups(userId: string, body: unknown): string[] {
    const groupIds = typeof body === "object" && body !== null && "groupIds" in body ? body.groupIds : undefined;
    if (!Array.isArray(groupIds) || !groupIds.every((id): id is string => typeof id === "string")) {
      throw new GraphError(400, "Request_BadRequest", "The request body must be {\"groupIds\": [\"...\"]}.");
    }
    if (groupIds.length > MAX_CHECK_GROUPS) throw new GraphError(400, "Request_BadRequest", `At most ${MAX_CHECK_GROUPS} group ids may be checked per request.`);
    return groupIds.filter((id) => this.isMember(userId, id, new Set()));
  }

  private isMember(memberId: string, groupId: string, seen: Set<string>): boolean {
    const group = this.groups.get(groupId);
    if (!group || seen.has(groupId)) return false;
    seen.add(groupId);
    return group.members.some((m) => m === memberId || this.isMember(memberId, m, seen));
  }
}
