import { randomBytes } from "node:crypto";
import type { AppRegistration } from "./auth.js";
import type { User } from "./tenant.js";

// The demo tenant: the users tokens.yaml names, plus the awkward cases a reconciler must handle.

export const DEMO_TENANT_ID = "8f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
export const DEMO_CLIENT_ID = "0e7a9c1d-2b3f-4c5d-9e8f-7a6b5c4d3e2f";

export function demoUsers(): User[] {
  const member = (id: string, upn: string, displayName: string): User => ({ id, userPrincipalName: upn, displayName, userType: "Member", accountEnabled: true });
  return [
    member("a1d2e3f4-0001-4000-8000-000000000001", "adele.vance@contoso.com", "Adele Vance"),
    member("a1d2e3f4-0002-4000-8000-000000000002", "alex.wilber@contoso.com", "Alex Wilber"),
    member("a1d2e3f4-0003-4000-8000-000000000003", "megan.bowen@contoso.com", "Megan Bowen"),
    member("a1d2e3f4-0004-4000-8000-000000000004", "lee.gu@contoso.com", "Lee Gu"),
    member("a1d2e3f4-0005-4000-8000-000000000005", "nestor.wilke@contoso.com", "Nestor Wilke"),
    member("a1d2e3f4-0006-4000-8000-000000000006", "diego.siciliani@contoso.com", "Diego Siciliani"),
    { ...member("a1d2e3f4-0007-4000-8000-000000000007", "partner_fabrikam.com#EXT#@contoso.com", "Fabrikam Partner"), userType: "Guest" },
    { ...member("a1d2e3f4-0008-4000-8000-000000000008", "former.employee@contoso.com", "Former Employee"), accountEnabled: false },
  ];
}

/** The app registration CI uses, with the least permissions the reconciler needs; a fresh secret per run. */
export function demoApp(): AppRegistration {
  return {
    clientId: DEMO_CLIENT_ID,
    clientSecret: randomBytes(24).toString("base64url"),
    displayName: "entra-tokens demo",
    roles: ["Policy.ReadWrite.AuthenticationMethod", "UserAuthenticationMethod.ReadWrite.All", "User.Read.All"],
  };
}
