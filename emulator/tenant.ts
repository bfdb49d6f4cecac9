import { randomUUID } from "node:crypto";
import { MethodPolicy, type Group, type HardwareOathConfiguration } from "./method-policy.js";
import { verifyTotp } from "./totp.js";

// The tenant's state and the rules Graph enforces on it (docs/graph-api.md).

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface User {
  id: string;
  userPrincipalName: string;
  displayName: string;
  userType: "Member" | "Guest";
  accountEnabled: boolean;
}

export type DeviceStatus = "available" | "assigned" | "activated" | "failedActivation";
export type HashFunction = "hmacsha1" | "hmacsha256";

export interface Device {
  id: string;
  serialNumber: string;
  manufacturer: string;
  model: string;
  /** Kept server-side only; never serialised into a response. */
  secretKey: string;
  timeIntervalInSeconds: 30 | 60;
  hashFunction: HashFunction;
  displayName: string | null;
  status: DeviceStatus;
  assignedToUserId: string | null;
  assignedDateTime: string | null;
  lastUsedDateTime: string | null;
  /**
   * The user's method has its own lastUsedDateTime (authentication-list-methods.md), which Entra
   * may set while the device's stays null; absent: the device's.
   */
  methodLastUsedDateTime?: string | null;
}

/**
 * A user's authentication method that is not a token of the hardware OATH inventory. Graph lists
 * them all under GET /users/{id}/authentication/methods (authentication-list-methods.md).
 * `hardwareOath` here is a token uploaded the old way (CSV in the admin portal): entra-docs
 * how-to-mfa-manage-oath-tokens.md ("User has two tokens with the same serial number") says such a
 * token is still listed among the user's hardwareOathMethods, under an id no inventory device has,
 * and is removed by DELETE on the user's method, then DELETE on the device with that id.
 */
export interface UserMethod {
  id: string;
  userId: string;
  kind: UserMethodKind;
  /** Portal-uploaded hardware tokens only. */
  serialNumber?: string;
  manufacturer?: string;
  model?: string;
  lastUsedDateTime: string | null;
}

export type UserMethodKind = "microsoftAuthenticator" | "softwareOath" | "hardwareOath" | "phone" | "password";

/**
 * concept-authentication-oath-tokens.md: "Users may have a combination of up to five OATH hardware
 * tokens or authenticator applications, such as the Microsoft Authenticator app": the limit is shared.
 */
const COUNTS_TOWARDS_LIMIT: ReadonlySet<UserMethodKind> = new Set(["microsoftAuthenticator", "softwareOath", "hardwareOath"]);

export interface TenantSnapshot {
  users: User[];
  devices: Device[];
  /** Methods besides inventory tokens; absent: none. */
  methods?: UserMethod[];
  /** The hardware OATH method's configuration; absent: enabled for all users. */
  methodPolicy?: HardwareOathConfiguration;
  groups?: Group[];
}

export const MAX_DEVICES_PER_USER = 5;
const MAX_SECRET_CHARS = 128;

const notFound = (what: string) =>
  new GraphError(404, "Request_ResourceNotFound", `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`);
const badRequest = (code: string, message: string) => new GraphError(400, code, message);

/** A plain JSON object from a request body, or a 400. */
export type Json = Record<string, unknown>;

export class Tenant {
  private readonly users = new Map<string, User>();
  private readonly usersByUpn = new Map<string, User>();
  private readonly devices = new Map<string, Device>();
  private readonly devicesBySerial = new Map<string, Device>();
  /** Each user's devices, so per-user rules (5 tokens, their methods) never scan the inventory. */
  private readonly devicesByUser = new Map<string, Set<Device>>();
  /** Methods besides inventory tokens, by id; a portal token unassigned from its user stays until its device is deleted. */
  private readonly otherMethods = new Map<string, UserMethod>();
  /** The authentication methods policy's hardware OATH configuration, and the groups it targets. */
  readonly methodPolicy: MethodPolicy;

  constructor(
    private readonly now: () => number = Date.now,
    snapshot?: TenantSnapshot,
  ) {
    for (const user of snapshot?.users ?? []) this.putUser(user);
    for (const device of snapshot?.devices ?? []) this.putDevice(device);
    for (const method of snapshot?.methods ?? []) this.otherMethods.set(method.id, { ...method });
    this.methodPolicy = new MethodPolicy(snapshot?.methodPolicy, snapshot?.groups);
  }

  snapshot(): TenantSnapshot {
    return {
      users: [...this.users.values()].map((u) => ({ ...u })),
      devices: [...this.devices.values()].map((d) => ({ ...d })),
      methods: [...this.otherMethods.values()].map((m) => ({ ...m })),
      methodPolicy: structuredClone(this.methodPolicy.configuration),
      groups: this.methodPolicy.allGroups(),
    };
  }

  // ---- users -------------------------------------------------------------------------------

  putUser(user: User): User {
    const existing = this.users.get(user.id);
    if (existing) this.usersByUpn.delete(existing.userPrincipalName.toLowerCase());
    const copy = { ...user };
    this.users.set(copy.id, copy);
    this.usersByUpn.set(copy.userPrincipalName.toLowerCase(), copy);
    return copy;
  }

  addUser(fields: Partial<User> & { userPrincipalName: string }): User {
    return this.putUser({
      id: fields.id ?? randomUUID(),
      displayName: fields.displayName ?? fields.userPrincipalName.split("@")[0] ?? fields.userPrincipalName,
      userType: fields.userType ?? "Member",
      accountEnabled: fields.accountEnabled ?? true,
      userPrincipalName: fields.userPrincipalName,
    });
  }

  /** Deleting a user removes their methods; their devices return to the pool, as in Entra. */
  deleteUser(idOrUpn: string): void {
    const user = this.user(idOrUpn);
    for (const method of this.otherMethodsOf(user.id)) this.otherMethods.delete(method.id);
    this.users.delete(user.id);
    this.usersByUpn.delete(user.userPrincipalName.toLowerCase());
    for (const device of this.heldBy(user.id)) this.release(device);
  }

  user(idOrUpn: string): User {
    const user = this.users.get(idOrUpn) ?? this.usersByUpn.get(idOrUpn.toLowerCase());
    if (!user) throw notFound(idOrUpn);
    return user;
  }

  /** Exact lookups for `$filter=id in (…)` and `userPrincipalName in (…)`; UPNs compare case-insensitively. */
  userById(id: string): User | undefined {
    return this.users.get(id) ?? this.users.get(id.toLowerCase());
  }

  userByUpn(upn: string): User | undefined {
    return this.usersByUpn.get(upn.toLowerCase());
  }

  allUsers(): User[] {
    return [...this.users.values()];
  }

  userCount(): number {
    return this.users.size;
  }

  // ---- inventory ---------------------------------------------------------------------------

  allDevices(): Device[] {
    return [...this.devices.values()];
  }

  device(id: string): Device {
    const device = this.devices.get(id);
    if (!device) throw notFound(id);
    return device;
  }

  deviceById(id: string): Device | undefined {
    return this.devices.get(id);
  }

  deviceBySerial(serial: string): Device | undefined {
    return this.devicesBySerial.get(serial.toUpperCase());
  }

  userDisplayName(userId: string | null): string | null {
    return userId === null ? null : (this.users.get(userId)?.displayName ?? null);
  }

  /** POST /hardwareOathDevices (and each item of the bulk PATCH). */
  createDevice(body: Json, canAssign: boolean): Device {
    const serialNumber = requiredString(body, "serialNumber");
    const manufacturer = requiredString(body, "manufacturer");
    const model = requiredString(body, "model");
    const secretKey = requiredString(body, "secretKey");
    if (!/^[A-Za-z2-7]+$/.test(secretKey)) {
      throw badRequest("invalidSecretKey", "Invalid base32 encoding: secretKey may only contain the characters A-Z and 2-7.");
    }
    if (secretKey.length > MAX_SECRET_CHARS) {
      throw badRequest("invalidSecretKey", `secretKey is longer than ${MAX_SECRET_CHARS} characters.`);
    }
    const timeIntervalInSeconds = parseInterval(body["timeIntervalInSeconds"]);
    if (timeIntervalInSeconds === undefined) throw badRequest("invalidRequest", "Property 'timeIntervalInSeconds' is required.");
    const hashFunction = parseHash(body["hashFunction"]) ?? "hmacsha1";
    const displayName = optionalString(body, "displayName");
    if (this.devicesBySerial.has(serialNumber.toUpperCase())) {
      throw new GraphError(409, "serialNumberAlreadyExists", `A hardware OATH token with serial number '${serialNumber}' already exists.`);
    }
    let assignee: User | undefined;
    const assignTo = body["assignTo"];
    if (assignTo !== undefined && assignTo !== null) {
      if (!canAssign) throw forbidden();
      if (!isJson(assignTo) || typeof assignTo["id"] !== "string") throw badRequest("invalidRequest", "assignTo must be an object with an id.");
      assignee = this.user(assignTo["id"]);
      this.checkCanReceive(assignee);
    }
    const device: Device = {
      id: randomUUID(),
      serialNumber,
      manufacturer,
      model,
      secretKey: secretKey.toUpperCase(),
      timeIntervalInSeconds,
      hashFunction,
      displayName: displayName ?? null,
      status: "available",
      assignedToUserId: null,
      assignedDateTime: null,
      lastUsedDateTime: null,
    };
    this.putDevice(device);
    if (assignee) this.bind(device, assignee);
    return device;
  }

  /** PATCH /hardwareOathDevices/{id}: only while unassigned. */
  updateDevice(id: string, body: Json): Device {
    const device = this.device(id);
    const allowed = new Set(["displayName", "manufacturer", "model", "timeIntervalInSeconds", "hashFunction"]);
    const unknown = Object.keys(body).filter((k) => !allowed.has(k) && !k.startsWith("@odata."));
    if (unknown.length > 0) throw badRequest("invalidRequest", `Property '${unknown[0]}' cannot be updated.`);
    if (device.assignedToUserId !== null) {
      throw badRequest("tokenAssigned", "The hardware OATH token is assigned to a user; unassign it before updating it.");
    }
    const manufacturer = optionalString(body, "manufacturer");
    const model = optionalString(body, "model");
    const interval = parseInterval(body["timeIntervalInSeconds"]);
    const hash = parseHash(body["hashFunction"]);
    if ("displayName" in body) {
      const displayName = body["displayName"];
      if (displayName !== null && typeof displayName !== "string") throw badRequest("invalidRequest", "displayName must be a string or null.");
      device.displayName = displayName;
    }
    if (manufacturer !== undefined) device.manufacturer = manufacturer;
    if (model !== undefined) device.model = model;
    if (interval !== undefined) device.timeIntervalInSeconds = interval;
    if (hash !== undefined) device.hashFunction = hash;
    return device;
  }

  deleteDevice(id: string): void {
    const legacy = this.otherMethods.get(id);
    if (legacy?.kind === "hardwareOath") {
      if (legacy.userId !== "") throw badRequest("tokenAssigned", "The hardware OATH token is assigned to a user; unassign it before deleting it.");
      this.otherMethods.delete(id);
      return;
    }
    const device = this.device(id);
    if (device.assignedToUserId !== null) {
      throw badRequest("tokenAssigned", "The hardware OATH token is assigned to a user; unassign it before deleting it.");
    }
    this.devices.delete(id);
    this.devicesBySerial.delete(device.serialNumber.toUpperCase());
  }

  // ---- a user's methods --------------------------------------------------------------------

  methodsOf(idOrUpn: string): Device[] {
    return this.heldBy(this.user(idOrUpn).id);
  }

  /** A user's methods besides inventory tokens (portal-uploaded tokens included). */
  /** A portal-uploaded token by its method id (= the id its DELETE on the device uses), held or not. */
  portalToken(id: string): UserMethod | undefined {
    const method = this.otherMethods.get(id);
    return method?.kind === "hardwareOath" ? { ...method } : undefined;
  }

  otherMethodsOf(idOrUpn: string): UserMethod[] {
    const user = this.user(idOrUpn);
    return [...this.otherMethods.values()].filter((m) => m.userId === user.id);
  }

  /** Test set-up: a method the user registered elsewhere (My Security Info, the portal's CSV upload). */
  addMethod(idOrUpn: string, method: Omit<UserMethod, "id" | "userId" | "lastUsedDateTime"> & { id?: string; lastUsedDateTime?: string | null }): UserMethod {
    const added: UserMethod = { ...method, id: method.id ?? randomUUID(), userId: this.user(idOrUpn).id, lastUsedDateTime: method.lastUsedDateTime ?? null };
    this.otherMethods.set(added.id, added);
    return added;
  }

  assign(idOrUpn: string, body: Json): Device {
    const user = this.user(idOrUpn);
    const ref = body["device"];
    if (!isJson(ref) || typeof ref["id"] !== "string") throw badRequest("invalidRequest", "Body must be {\"device\":{\"id\":\"...\"}}.");
    const device = this.device(ref["id"]);
    return this.assignDevice(user, device);
  }

  activate(idOrUpn: string, methodId: string, body: Json): void {
    const device = this.methodOf(this.user(idOrUpn), methodId);
    this.verify(device, body);
  }

  deactivate(idOrUpn: string, methodId: string): void {
    const device = this.methodOf(this.user(idOrUpn), methodId);
    device.status = "assigned";
  }

  assignAndActivate(idOrUpn: string, body: Json): void {
    const user = this.user(idOrUpn);
    const ref = body["device"];
    if (!isJson(ref) || typeof ref["id"] !== "string") throw badRequest("invalidRequest", "Body must include device.id.");
    this.assignAndVerify(user, this.device(ref["id"]), body);
  }

  assignAndActivateBySerialNumber(idOrUpn: string, body: Json): void {
    const user = this.user(idOrUpn);
    const serial = requiredString(body, "serialNumber");
    const device = this.deviceBySerial(serial);
    if (!device) throw notFound(serial);
    this.assignAndVerify(user, device, body);
  }

  unassign(idOrUpn: string, methodId: string): void {
    const user = this.user(idOrUpn);
    const legacy = this.otherMethods.get(methodId);
    if (legacy?.kind === "hardwareOath" && legacy.userId === user.id) {
      // The portal token leaves the user; its device goes with DELETE on the device id (how-to-mfa-manage-oath-tokens.md).
      legacy.userId = "";
      return;
    }
    this.release(this.methodOf(user, methodId));
  }

  /** What a user does in My Security Info: sign in with the token (marks it used). */
  recordSignIn(deviceId: string, recordedOn: "device and method" | "method only" = "device and method"): void {
    const device = this.device(deviceId);
    const now = new Date(this.now()).toISOString();
    device.methodLastUsedDateTime = now;
    if (recordedOn === "device and method") device.lastUsedDateTime = now;
  }

  // ---- internals ---------------------------------------------------------------------------

  private putDevice(device: Device): void {
    this.devices.set(device.id, device);
    this.devicesBySerial.set(device.serialNumber.toUpperCase(), device);
    if (device.assignedToUserId !== null) this.index(device, device.assignedToUserId);
  }

  private heldBy(userId: string): Device[] {
    return [...(this.devicesByUser.get(userId) ?? [])];
  }

  private index(device: Device, userId: string): void {
    let held = this.devicesByUser.get(userId);
    if (!held) this.devicesByUser.set(userId, (held = new Set()));
    held.add(device);
  }

  private assignAndVerify(user: User, device: Device, body: Json): void {
    const code = requiredString(body, "verificationCode");
    if (device.assignedToUserId !== user.id) this.assignDevice(user, device);
    this.verify(device, { ...body, verificationCode: code });
  }

  private assignDevice(user: User, device: Device): Device {
    if (device.assignedToUserId !== null) {
      throw badRequest("tokenAlreadyAssigned", `The hardware OATH token '${device.serialNumber}' is already assigned to a user.`);
    }
    this.checkCanReceive(user);
    this.bind(device, user);
    return device;
  }

  private checkCanReceive(user: User): void {
    if (user.userType === "Guest") {
      throw badRequest("guestUserNotAllowed", "Hardware OATH tokens cannot be assigned to guest users.");
    }
    const others = [...this.otherMethods.values()].filter((m) => m.userId === user.id && COUNTS_TOWARDS_LIMIT.has(m.kind)).length;
    if ((this.devicesByUser.get(user.id)?.size ?? 0) + others >= MAX_DEVICES_PER_USER) {
      throw badRequest("tooManyDevices", `User already has the maximum of ${MAX_DEVICES_PER_USER} hardware OATH tokens or authenticator applications.`);
    }
  }

  private bind(device: Device, user: User): void {
    device.assignedToUserId = user.id;
    this.index(device, user.id);
    device.assignedDateTime = new Date(this.now()).toISOString();
    device.status = "assigned";
  }

  private release(device: Device): void {
    if (device.assignedToUserId !== null) this.devicesByUser.get(device.assignedToUserId)?.delete(device);
    device.assignedToUserId = null;
    device.assignedDateTime = null;
    device.status = "available";
  }

  private methodOf(user: User, methodId: string): Device {
    const device = this.devices.get(methodId);
    if (!device || device.assignedToUserId !== user.id) throw notFound(methodId);
    return device;
  }

  private verify(device: Device, body: Json): void {
    const code = requiredString(body, "verificationCode");
    const displayName = optionalString(body, "displayName");
    if (!/^\d{6}$/.test(code) || !verifyTotp(device.secretKey, code, device.timeIntervalInSeconds, device.hashFunction, this.now())) {
      device.status = "failedActivation";
      throw badRequest("invalidVerificationCode", "The verification code is not valid for this hardware OATH token.");
    }
    device.status = "activated";
    if (displayName !== undefined) device.displayName = displayName;
  }
}

export function forbidden(): GraphError {
  return new GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
}

export function isJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requiredString(body: Json, name: string): string {
  const value = body[name];
  if (typeof value !== "string" || value.trim() === "") throw badRequest("invalidRequest", `Property '${name}' is required and must be a non-empty string.`);
  return value;
}

function optionalString(body: Json, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badRequest("invalidRequest", `Property '${name}' must be a string.`);
  return value;
}

/** Docs examples send the interval as "30" as well as 30: accept both. */
function parseInterval(value: unknown): 30 | 60 | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (number === 30 || number === 60) return number;
  throw badRequest("invalidTimeInterval", "timeIntervalInSeconds must be 30 or 60.");
}

function parseHash(value: unknown): HashFunction | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === "hmacsha1" || value === "hmacsha256") return value;
  throw badRequest("invalidRequest", "hashFunction must be hmacsha1 or hmacsha256.");
}
