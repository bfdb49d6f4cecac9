// `npm run bench`: prints figures, never pass/fail.
import { benchEmulatorListing } from "./emulator.js";
import { benchValidate } from "./validate.js";

async function main(): Promise<void> {
  await benchValidate(10_000);
  await benchEmulatorListing(10_000);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
