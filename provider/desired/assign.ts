// The users file of `assign` and `add --users`, and the error of every tokens.yaml edit (the edit
// itself is `assignFromPool` in lifecycle.ts, through edit.ts like every other editing command).

export interface UserLine {
  upn: string;
  displayName?: string;
  line: number;
}

export class AssignError extends Error {}

const UPN = /^[^\s@,]+@[^\s@,]+\.[^\s@.,]+$/;

/** `upn` or `upn,display name` per line; blank lines and # comments are skipped. */
export function parseUsersFile(text: string, file: string): UserLine[] {
  const users: UserLine[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const [upnPart = "", ...rest] = line.split(",");
    const upn = upnPart.trim();
    const displayName = rest.join(",").trim();
    if (!UPN.test(upn)) throw new AssignError(`${file}:${index + 1}: "${upn}" is not a user principal name; write upn or upn,display name per line`);
    if (seen.has(upn.toLowerCase())) throw new AssignError(`${file}:${index + 1}: ${upn} is listed twice`);
    seen.add(upn.toLowerCase());
    users.push({ upn, ...(displayName === "" ? {} : { displayName }), line: index + 1 });
  });
  return users;
}
