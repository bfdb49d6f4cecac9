import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { runCli, type CliResult } from "./support/cli.js";
import { ADMIN_APP, clientEnv, FULL_ROLES, startHttpsEmulator, type SecretApp } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

// The token lifecycle end to end: the CLI as an admin runs it, against the emulator over HTTPS.

const MEMBERS = ["adele.vance", "alex.wilber", "megan.bowen", "lee.gu", "nestor.wilke", "diego.siciliani"].map((u) => `${u}@contoso.com`);
/** An app that may also read group memberships, for the preflight's target check. */
const GROUPS_APP: SecretApp = { clientId: "groups-app", clientSecret: "groups-secret-value-321", roles: [...FULL_ROLES, "GroupMember.Read.All"] };
const secretFor = (label: string) => encodeBase32(Buffer.from(label.padEnd(20, "#")));

describe("token lifecycle against the emulator (HTTPS, CLI)", function () {
  this.timeout(180_000);
  let emulator: GraphEmulator;
  let outputs: string[];
  beforeEach(async () => {
    emulator = await startHttpsEmulator({ apps: [ADMIN_APP, GROUPS_APP] });
    outputs = [];
  });
  afterEach(() => emulator.stop());

  // Deliveries are kept encrypted at rest (validate refuses plain seed files): tests store them so.
  const STORE_PASSPHRASE = "lifecycle test store passphrase";
  const cli = async (args: string[], app: SecretApp = ADMIN_APP): Promise<CliResult> => {
    const result = await runCli(args, { ...clientEnv(emulator, app), CI: "true", ENTRA_TOKENS_SEED_PASSPHRASE: STORE_PASSPHRASE });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const noSecretsPrinted = (secrets: readonly string[]) => {
    const everything = outputs.join("\n");
    for (const secret of [...secrets, ADMIN_APP.clientSecret, GROUPS_APP.clientSecret]) assert.ok(!everything.includes(secret), "a secret reached the output");
  };

  it("onboard: import writes 50 existing tokens with their attributes, holders and states; plan then exits 0; a merge keeps comments", async () => {
    const t = emulator.tenant;
    const users = Array.from({ length: 12 }, (_, i) => t.addUser({ userPrincipalName: `staff${i}@contoso.com` }));
    for (let i = 0; i < 50; i++) {
      const feitian = i % 5 === 0;
      t.createDevice(
        {
          serialNumber: `ON-${String(i).padStart(3, "0")}`,
          manufacturer: feitian ? "Feitian" : "Token2",
          model: feitian ? "OTP c200" : "C202",
          secretKey: secretFor(`onboard-${i}`),
          timeIntervalInSeconds: feitian ? 60 : 30,
          hashFunction: i % 7 === 0 ? "hmacsha256" : "hmacsha1",
          ...(i % 4 === 0 ? { displayName: `Fob ${i}` } : {}),
          ...(i % 3 === 0 ? {} : { assignTo: { id: users[i % users.length]!.id } }),
        },
        true,
      );
    }
    const dir = mkdtempSync(join(tmpdir(), "entra-import-"));
    const file = join(dir, "tokens.yaml");
    const dry = await cli(["import", "--file", file, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\+\+\+ b\/.*tokens\.yaml/);
    assert.ok(!existsSync(file), "--dry-run writes nothing");
    const imported = await cli(["import", "--file", file]);
    assert.equal(imported.code, 0, imported.stderr);
    const text = readFileSync(file, "utf8");
    assert.match(text, /defaults:\n {2}manufacturer: Token2\n {2}model: C202\n {2}timeIntervalInSeconds: 30\n {2}hashFunction: hmacsha1/, "shared attributes factored into defaults");
    assert.match(text, /serial: "ON-005"\n {4}state: assigned\n {4}upn: staff5@contoso\.com\n {4}manufacturer: Feitian\n {4}model: OTP c200\n {4}timeIntervalInSeconds: 60/);
    assert.equal((text.match(/serial:/g) ?? []).length, 50);
    const plan = await cli(["plan", "--file", file]);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);

    // Merge: a hand-written file with a comment and one entry; import adds the rest and keeps both.
    const t2 = join(dir, "merge.yaml");
    writeFileSync(t2, `# our tokens\nversion: 1\ndefaults: { manufacturer: Token2, model: C202 }\ntokens:\n  - { serial: "ON-001", state: assigned, upn: staff1@contoso.com }   # Staff 1\n`);
    assert.equal((await cli(["import", "--file", t2])).code, 0);
    const merged = readFileSync(t2, "utf8");
    assert.ok(merged.startsWith("# our tokens\nversion: 1\ndefaults: { manufacturer: Token2, model: C202 }\ntokens:\n  - { serial: \"ON-001\", state: assigned, upn: staff1@contoso.com }   # Staff 1\n"), merged.slice(0, 300));
    assert.equal((merged.match(/serial:/g) ?? []).length, 50);
    assert.equal((await cli(["plan", "--file", t2])).code, 0);
  });

  it("delivery: a 60 s seed file is added with its attributes, created as 60 s and activated; a disagreeing interval is refused", async () => {
    const { file, secrets } = workspace(2, (i) => (i === 0 ? "state: available" : `state: activated, upn: ${MEMBERS[0]}`));
    const dir = join(file, "..");
    const safeid = ["serial number,secret key,time interval,manufacturer,model"];
    const deliverySecrets = [0, 1, 2].map((i) => secretFor(`safeid-${i}`));
    deliverySecrets.forEach((secret, i) => safeid.push(`SID-${i},${secret},60,Deepnet,SafeID`));
    writeFileSync(join(dir, "safeid.csv"), `${safeid.join("\n")}\n`);
    assert.equal((await cli(["seeds", "import", join(dir, "safeid.csv"), "--out", join(dir, "safeid.pskc")])).code, 0);
    writeFileSync(join(dir, "users.txt"), `${MEMBERS[2]},Megan's SafeID\n`);
    const added = await cli(["add", join(dir, "safeid.pskc"), "--passphrase-env", "ENTRA_TOKENS_SEED_PASSPHRASE", "--file", file, "--users", join(dir, "users.txt"), "--state", "activated"]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /3 added \(1 to users, 2 to the pool\)/);
    const text = readFileSync(file, "utf8");
    assert.match(text, /\{ file: safeid\.pskc, passphraseEnv: ENTRA_TOKENS_SEED_PASSPHRASE \}/, "the seed file is named in seeds:");
    // In the file's own (flow) style, with the seed's attributes where they differ from defaults.
    assert.match(text, /\{ serial: "SID-0", state: activated, upn: megan\.bowen@contoso\.com, displayName: Megan's SafeID, manufacturer: Deepnet, model: SafeID, timeIntervalInSeconds: 60 \}/);
    assert.equal((await cli(["validate", file])).code, 0);
    const applied = await cli(["apply", "--yes", "--file", file]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    for (const serial of ["SID-0", "SID-1", "SID-2"]) assert.equal(emulator.tenant.deviceBySerial(serial)?.timeIntervalInSeconds, 60, serial);
    // The emulator checks the code with the device's own 60 s step: activated means Entra would accept it.
    assert.equal(emulator.tenant.deviceBySerial("SID-0")?.status, "activated");
    assert.equal((await cli(["plan", "--file", file])).code, 0);

    // A hand edit to 30 s contradicts the seed file: validate and plan refuse, naming both values and files.
    writeFileSync(file, readFileSync(file, "utf8").replace(/(serial: "SID-1".*)timeIntervalInSeconds: 60/, "$1timeIntervalInSeconds: 30"));
    const invalid = await cli(["validate", file]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stdout, /\[seed-mismatch\] token "SID-1": timeIntervalInSeconds is 30 in .*tokens\.yaml:\d+ but 60 in the seed file .*safeid\.pskc/);
    const refused = await cli(["plan", "--file", file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /seed-mismatch/);
    noSecretsPrinted([...secrets, ...deliverySecrets]);
  });

  it("lost, replace and leaver: each edit converges the tenant, and retirements count against maxDeletes", async () => {
    const { file, secrets } = workspace(8, (i) => (i < 4 ? `state: activated, upn: ${MEMBERS[i]}` : "state: available"));
    assert.equal((await cli(["apply", "--yes", "--file", file])).code, 0);
    const t = emulator.tenant;
    const converged = async () => {
      const applied = await cli(["apply", "--yes", "--file", file]);
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      const plan = await cli(["plan", "--file", file]);
      assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    };

    // Lost: T7 (in the pool) is retired; it leaves Entra, the entry stays as history.
    assert.equal((await cli(["retire", "T7", "--file", file])).code, 0);
    assert.match(readFileSync(file, "utf8"), /# retired \d{4}-\d{2}-\d{2}: lost or broken \(was available\)\n {2}- \{ serial: "T7", state: retired \}/);
    await converged();
    assert.equal(t.deviceBySerial("T7"), undefined);

    // Replace: Adele's T0 is lost; she gets the first pool token, activated; T0 is unassigned and deleted.
    const replaced = await cli(["replace", "T0", "--file", file]);
    assert.match(replaced.stdout, /T4: activated to adele\.vance@contoso\.com/);
    await converged();
    assert.equal(t.deviceBySerial("T0"), undefined);
    assert.equal(t.deviceBySerial("T4")?.status, "activated");
    assert.equal(t.deviceBySerial("T4")?.assignedToUserId, t.user(MEMBERS[0]!).id);

    // Leaver to the pool: Alex's T1 comes back, its name cleared, though policy.selfService is keep.
    const t1 = t.deviceBySerial("T1")!;
    t1.displayName = "Alex's fob";
    assert.equal((await cli(["leaver", MEMBERS[1]!, "--file", file])).code, 0);
    await converged();
    assert.equal(t.deviceBySerial("T1")?.status, "available");
    assert.equal(t.deviceBySerial("T1")?.displayName, null);

    // Leaver retiring two tokens at once under maxDeletes 2 is fine; three deletions are refused.
    assert.equal((await cli(["leaver", MEMBERS[2]!, "--retire", "--file", file])).code, 0);
    assert.equal((await cli(["retire", "T5", "T6", "--file", file])).code, 0);
    const guarded = await cli(["apply", "--yes", "--file", file]);
    assert.equal(guarded.code, 1);
    assert.match(guarded.stdout, /deletes 3 tokens, more than policy.maxDeletes \(2\)/);
    assert.ok(t.deviceBySerial("T2"), "nothing deleted");
    assert.equal((await cli(["apply", "--yes", "--allow-deletes", "--file", file])).code, 0);
    assert.equal((await cli(["plan", "--file", file])).code, 0);
    assert.deepEqual(t.allDevices().map((d) => d.serialNumber).sort(), ["T1", "T3", "T4"]);
    noSecretsPrinted(secrets);
  });

  it("self-service: under the default policy a claim survives an unrelated apply; import --self-service records it; revoke takes claims back", async () => {
    const { file, secrets } = workspace(4, (i) => (i === 0 ? `state: activated, upn: ${MEMBERS[0]}` : "state: available"));
    assert.equal((await cli(["apply", "--yes", "--file", file])).code, 0);
    const t = emulator.tenant;
    t.assign(MEMBERS[3]!, { device: { id: t.deviceBySerial("T2")!.id } }); // Lee claims T2 in My Security Info
    // An unrelated change: T3 gets a user.
    writeFileSync(file, readFileSync(file, "utf8").replace(/"T3", state: available/, `"T3", state: assigned, upn: ${MEMBERS[4]}`));
    const applied = await cli(["apply", "--yes", "--file", file]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(applied.stdout, /\[self-service-claim\] lee\.gu@contoso\.com claimed this pool token/);
    assert.doesNotMatch(applied.stdout, /unassign\s+T2/);
    assert.equal(t.deviceBySerial("T2")?.assignedToUserId, t.user(MEMBERS[3]!).id, "the claim survived");
    assert.equal((await cli(["plan", "--file", file])).code, 0, "a kept claim is not a change");
    const drift = await cli(["drift", "--file", file]);
    assert.equal(drift.code, 0, "a kept claim is a notice, not drift");

    const recorded = await cli(["import", "--self-service", "--file", file]);
    assert.match(recorded.stdout, /T2: claimed by lee\.gu@contoso\.com \(self-service\), recorded as theirs/);
    assert.match(readFileSync(file, "utf8"), /\{ serial: "T2", state: assigned, upn: lee\.gu@contoso\.com \}/);
    assert.equal((await cli(["plan", "--file", file])).code, 0);

    t.assign(MEMBERS[5]!, { device: { id: t.deviceBySerial("T1")!.id } });
    writeFileSync(file, readFileSync(file, "utf8").replace("policy: { unmanaged: report, maxDeletes: 2 }", "policy: { unmanaged: report, maxDeletes: 2, selfService: revoke }"));
    assert.equal((await cli(["apply", "--yes", "--file", file])).code, 0);
    assert.equal(t.deviceBySerial("T1")?.status, "available", "revoke returns claims to the pool");
    noSecretsPrinted(secrets);
  });

  it("import of a tenant serial with control characters is refused, shown escaped, and writes nothing", async () => {
    const { file } = workspace(1, () => "state: available");
    const t = emulator.tenant;
    const hostile = t.createDevice({ serialNumber: "H1\u001b]0;pwned\u0007", manufacturer: "Contoso", model: "TOTP", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30, hashFunction: "hmacsha1" }, false);
    t.assign(MEMBERS[3]!, { device: { id: hostile.id } });
    const before = readFileSync(file, "utf8");
    const r = await cli(["import", "--self-service", "--file", file]);
    // A serial no tokens.yaml may hold is refused, shown escaped, and nothing is written.
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /the edit would make .*tokens\.yaml invalid \(this value \(written with an escape\) holds U\+001B \(ESC\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /[\u001b\u0007]/, "no raw control character");
    assert.equal(readFileSync(file, "utf8"), before);
  });

  it("preflight: plan and apply warn when the method is disabled or a user is outside its targets, checked in $batch", async () => {
    const { file } = workspace(3, (i) => `state: assigned, upn: ${MEMBERS[i]}`);
    const t = emulator.tenant;
    t.methodPolicy.configuration.state = "disabled";
    const disabled = await cli(["plan", "--file", file]);
    assert.equal(disabled.code, 2);
    assert.match(disabled.stderr, /warning \[method-disabled\] the hardware OATH method is disabled in the authentication methods policy/);

    t.methodPolicy.configuration.state = "enabled";
    const staff = t.methodPolicy.addGroup({ displayName: "Token holders", members: [t.user(MEMBERS[0]!).id] });
    const nested = t.methodPolicy.addGroup({ displayName: "Helpdesk", members: [t.user(MEMBERS[1]!).id] });
    staff.members.push(nested.id);
    t.methodPolicy.configuration.includeTargets = [{ targetType: "group", id: staff.id }];
    emulator.requests.length = 0;
    const targeted = await cli(["plan", "--file", file], GROUPS_APP);
    assert.equal(targeted.code, 2);
    assert.match(targeted.stderr, /warning \[outside-targets\] megan\.bowen@contoso\.com is not in the hardware OATH method's targets: Entra will not let them use token T2/);
    assert.doesNotMatch(targeted.stderr, /adele|alex/, "members, also through a nested group, are inside the targets");
    const checks = emulator.requests.filter((r) => r.route === "checkMemberGroups");
    assert.equal(checks.length, 3);
    assert.ok(checks.every((r) => r.batched), "membership is checked inside $batch");

    // Without a group-reading permission the preflight says which one it needs, and the plan goes on.
    const noGroups = await cli(["apply", "--yes", "--file", file]);
    assert.equal(noGroups.code, 0, noGroups.stdout + noGroups.stderr);
    assert.match(noGroups.stderr, /warning \[preflight-unreadable\] could not check users' membership .*fix: grant the app GroupMember\.Read\.All/s);
  });
});
