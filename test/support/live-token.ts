import type { LiveToken } from "../../provider/model/index.js";

/** A live device for planner tests: an available Token2 C202 unless `extra` says otherwise. */
export const device = (serial: string, extra: Partial<LiveToken> = {}): LiveToken => ({
  id: `d-${serial}`,
  serial,
  status: "available",
  manufacturer: "Token2",
  model: "C202",
  timeIntervalInSeconds: 30,
  hashFunction: "hmacsha1",
  ...extra,
});
