import { performance } from "node:perf_hooks";
import { GraphEmulator } from "../emulator/server.js";

const APP = { clientId: "bench", clientSecret: "bench-secret-not-real", roles: ["Policy.ReadWrite.AuthenticationMethod", "UserAuthenticationMethod.ReadWrite.All", "User.Read.All"] };

/** Lists a 10,000-device inventory over HTTP, as a client following @odata.nextLink would. */
export async function benchEmulatorListing(count: number): Promise<void> {
  const emulator = await GraphEmulator.start({ tenantId: "bench-tenant", apps: [APP] });
  try {
    for (let i = 0; i < count; i++) {
      emulator.tenant.createDevice({ serialNumber: `SN${i}`, manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    }
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: APP.clientId, client_secret: APP.clientSecret, scope: "https://graph.microsoft.com/.default" });
    const tokenBody: unknown = await (await fetch(`${emulator.url}/bench-tenant/oauth2/v2.0/token`, { method: "POST", body: form })).json();
    const token = typeof tokenBody === "object" && tokenBody !== null && "access_token" in tokenBody ? String(tokenBody.access_token) : "";
    for (const top of [100, 999]) {
      const start = performance.now();
      let url: string | undefined = `${emulator.graphUrl}/directory/authenticationMethodDevices/hardwareOathDevices?$top=${top}`;
      let pages = 0;
      let devices = 0;
      while (url) {
        const body: unknown = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json();
        if (typeof body !== "object" || body === null || !("value" in body) || !Array.isArray(body.value)) throw new Error("bad page");
        devices += body.value.length;
        pages++;
        url = "@odata.nextLink" in body && typeof body["@odata.nextLink"] === "string" ? body["@odata.nextLink"] : undefined;
      }
      console.log(`emulator: listed ${devices} devices in ${pages} pages of ${top} — ${(performance.now() - start).toFixed(0)} ms`);
    }
  } finally {
    await emulator.stop();
  }
}
