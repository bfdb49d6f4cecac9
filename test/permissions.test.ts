import assert from "node:assert/strict";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { ADMIN_APP, call, clientEnv, READER_APP, startHttpsEmulator, tokenFor, type SecretApp } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

// Least privilege: UserAuthMethod-HardwareOATH.* instead of UserAuthenticationMethod.* (concepts/whats-new-overview.md,
// October 2025), and a missing permission named from the app's own token before Graph answers 403.

const HARDWARE_ONLY: SecretApp = {
  clientId: "hardware-oath-app",
  clientSecret: "hardware-oath-secret-654",
  roles: ["Policy.ReadWrite.AuthenticationMethod", "UserAuthMethod-HardwareOATH.ReadWrite.All", "User.Read.All"],
};
const NO_USERS: SecretApp = { clientId: "no-users-app", clientSecret: "no-users-secret-987", roles: ["Policy.Read.All", "UserAuthMethod-HardwareOATH.Read.All"] };
const USERS = ["adele.vance", "alex.wilber", "megan.bowen"].map((u) => `${u}@contoso.com`);
const mixed = (i: number) => (i % 3 === 0 ? "state: available" : `state: ${i % 3 === 1 ? "activated" : "assigned"}, upn: ${USERS[i % USERS.length]}`);

describe("least privilege: the UserAuthMethod-HardwareOATH permissions", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  beforeEach(async () => (emulator = await startHttpsEmulator({ variant: "canonical", apps: [ADMIN_APP, READER_APP, HARDWARE_ONLY, NO_USERS] })));
  afterEach(() => emulator.stop());

  const writes = () => emulator.requests.filter((r) => r.method !== "GET" && r.route !== "token" && r.route !== "batch" && r.route !== "identity" && r.route !== "checkMemberGroups");

  it("emulator: UserAuthMethod-HardwareOATH.ReadWrite.All reads and writes a user's hardware methods, not the list of all methods (authentication-list-methods.md)", async () => {
    const token = await tokenFor(emulator, HARDWARE_ONLY);
    const device = emulator.tenant.createDevice({ serialNumber: "H1", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    const methods = `/users/${USERS[0]}/authentication`;
    assert.equal((await call(emulator, token, "POST", `${methods}/hardwareOathMethods`, { device: { id: device.id } })).status, 201);
    assert.equal((await call(emulator, token, "GET", `${methods}/hardwareOathMethods`)).status, 200);
    assert.equal((await call(emulator, token, "GET", `${methods}/methods`)).status, 403);
    const reader = await tokenFor(emulator, NO_USERS);
    assert.equal((await call(emulator, reader, "GET", `${methods}/hardwareOathMethods`)).status, 200);
    assert.equal((await call(emulator, reader, "DELETE", `${methods}/hardwareOathMethods/${device.id}`)).status, 403);
  });

  it("plan and apply work with UserAuthMethod-HardwareOATH.* alone; plan says the authenticator apps were not counted", async () => {
    const { file } = workspace(6, mixed);
    const env = clientEnv(emulator, HARDWARE_ONLY);
    emulator.requests.length = 0;
    const planned = await runCli(["plan", "--file", file], env);
    assert.equal(planned.code, 2, planned.stderr);
    assert.match(planned.stdout, /authenticator apps were not counted.*UserAuthenticationMethod\.Read\.All/);
    // One user's list of all methods is refused; every user who gets a token then costs one read, of their hardware methods.
    const reads = (route: string) => emulator.requests.filter((r) => r.route === route).map((r) => r.status);
    assert.deepEqual([reads("listAllMethods"), reads("listMethods")], [[403], [200, 200]], "Alex and Megan get tokens");
    const applied = await runCli(["apply", "--yes", "--file", file], env);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    assert.equal(emulator.tenant.allDevices().length, 6);
    assert.equal(emulator.tenant.allDevices().filter((d) => d.status === "activated").length, 2);
    assert.equal((await runCli(["plan", "--file", file], env)).code, 0);
  });

  it("apply with a read-only app refuses before any change, naming each missing permission from the token's roles", async () => {
    const { file } = workspace(3, mixed);
    const applied = await runCli(["apply", "--yes", "--file", file], clientEnv(emulator, READER_APP));
    assert.equal(applied.code, 1);
    assert.match(applied.stderr, /error: the app's access token lacks what apply needs, so nothing was read or changed: Policy\.ReadWrite\.AuthenticationMethod \(to create, update and delete tokens in the inventory\); UserAuthMethod-HardwareOATH\.ReadWrite\.All/);
    assert.doesNotMatch(applied.stderr, /at .*\.js:\d+/, "no stack trace");
    assert.deepEqual(writes(), [], "nothing was sent that could change the tenant");
    assert.equal(emulator.tenant.allDevices().length, 0);
    // The same app plans: a plan needs no write permission, and a converged tenant needs none to apply.
    assert.equal((await runCli(["plan", "--file", file], clientEnv(emulator, READER_APP))).code, 2);
  });

  it("plan without User.Read.All fails before reading the tenant, naming it", async () => {
    const { file } = workspace(3, mixed);
    emulator.requests.length = 0;
    const planned = await runCli(["plan", "--file", file], clientEnv(emulator, NO_USERS));
    assert.equal(planned.code, 1);
    assert.match(planned.stderr, /lacks what plan needs.*User\.Read\.All \(to look up the users tokens\.yaml names\)/);
    assert.deepEqual(emulator.requests.filter((r) => r.route !== "token" && r.route !== "identity"), [], "no Graph request was made");
  });
});
