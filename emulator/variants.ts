// Response variants: every shape Graph's docs show for the same answer (docs/graph-api.md and
// docs/graph-api.md). A client that only survives one of them is tested against all of them here.
// Paths are in microsoftgraph/microsoft-graph-docs-contrib, api-reference/beta/api/ unless noted.

import { seededRandom } from "./faults.js";

export interface ResponseShape {
  /**
   * Inventory list items. flat: the device object (the resource page's shape);
   * wrapped: `{"@odata.type":"#microsoft.graph.hardwareOathAuthenticationMethod","id","device":{…}}`
   * (authenticationmethoddevice-list-hardwareoathdevices.md, every example).
   */
  listItems: "flat" | "wrapped";
  /**
   * Answer to the bulk `#$delta` create. documented: wrapped items, no `@contentId`, request order
   * (authenticationmethoddevice-update.md, the example response); contentId: `@contentId` on every
   * item, in request order (the emulator's choice); shuffled: `@contentId` and any order (the request
   * carries `@contentId` for matching, and OData batch answers need not keep request order:
   * concepts/json-batching.md).
   */
  bulkCreate: "documented" | "contentId" | "shuffled";
  /** POST create and bulk create: 201 (both pages' text and examples) or 200 (OData allows either; SDKs accept both). */
  createStatus: 201 | 200;
  /**
   * PATCH one device: hardwareoathtokenauthenticationmethoddevice-update.md says "200 OK and an
   * updated object" in its text and shows `204 No Content` in its example.
   */
  updateStatus: 204 | 200;
  /** GET one device: the resource as the body, or (hardwareoathtokenauthenticationmethoddevice-get.md's example) `{"value":{…}}`. */
  getById: "plain" | "wrapped";
  /**
   * Envelope extras clients must ignore (concepts/odata-query-parameters / the OData JSON format):
   * `@odata.context` on every answer, `@odata.type` on each device, `@odata.count` on lists.
   */
  annotations: boolean;
  /** Retry-After as delay-seconds (concepts/throttling.md) or an HTTP-date (RFC 9110 §10.2.3 allows both). */
  retryAfter: "seconds" | "http-date";
  /** Throttled answers: 429 (concepts/throttling.md) or 503 with Retry-After (concepts/errors.md, "503 Service Unavailable"). */
  throttleStatus: 429 | 503;
  /**
   * No Microsoft page defines the codes of these endpoints' refusals (graph-api.md, "Error codes"):
   * emulator answers with the emulator's own codes; generic answers every unconfirmed one as
   * `BadRequest` (status kept), what a client must survive if Graph's codes differ.
   */
  errorCodes: "emulator" | "generic";
  /**
   * `$filter=serialNumber eq '…'`: whether case matters is not documented (serial uniqueness ignores
   * it). exact: only the same case matches (the emulator's choice); ignoreCase: any case does.
   */
  serialFilter: "exact" | "ignoreCase";
}

/** The codes graph-api.md marks as the emulator's choice: no Microsoft doc confirms them. */
export const UNCONFIRMED_CODES: readonly string[] = [
  "serialNumberAlreadyExists",
  "tokenAlreadyAssigned",
  "tokenAssigned",
  "invalidVerificationCode",
  "tooManyDevices",
  "guestUserNotAllowed",
  "invalidSecretKey",
  "invalidTimeInterval",
  "invalidRequest",
];

/** The emulator's own choices (the **emulator** notes of graph-api.md): what it serves with no variant set. */
export const CANONICAL: ResponseShape = {
  listItems: "flat",
  bulkCreate: "contentId",
  createStatus: 201,
  updateStatus: 204,
  getById: "plain",
  annotations: false,
  retryAfter: "seconds",
  throttleStatus: 429,
  errorCodes: "emulator",
  serialFilter: "exact",
};

/** Each variant alone: the canonical shape with one documented alternative switched on. */
export const VARIANTS = {
  canonical: {},
  "wrapped-list": { listItems: "wrapped" },
  "bulk-documented": { bulkCreate: "documented" },
  "bulk-shuffled": { bulkCreate: "shuffled" },
  "create-200": { createStatus: 200 },
  "update-200": { updateStatus: 200 },
  "get-wrapped": { getById: "wrapped" },
  annotations: { annotations: true },
  "retry-after-date": { retryAfter: "http-date" },
  "throttle-503": { throttleStatus: 503 },
  "generic-errors": { errorCodes: "generic" },
} as const satisfies Record<string, Partial<ResponseShape>>;

export type VariantName = keyof typeof VARIANTS;
/**
 * A named variant; "mix": every answer picks each alternative at random (seeded, so a run repeats);
 * or a combination of alternatives, e.g. `{ bulkCreate: "documented", errorCodes: "generic" }`.
 */
export type VariantSetting = VariantName | "mix" | Partial<ResponseShape>;

/** Every named setting: each variant alone, and the mix. */
export const VARIANT_SETTINGS: readonly (VariantName | "mix")[] = [...(Object.keys(VARIANTS) as VariantName[]), "mix"];

export function isVariantSetting(value: string): value is VariantName | "mix" {
  return (VARIANT_SETTINGS as readonly string[]).includes(value);
}

/** Hands out the shape of each answer: fixed for a named variant, drawn per answer under "mix". */
export class Variants {
  private readonly random: () => number;

  constructor(
    readonly setting: VariantSetting = "canonical",
    seed = 1,
  ) {
    this.random = seededRandom(seed);
  }

  /** The shape of the next answer. */
  next(): ResponseShape {
    if (typeof this.setting === "object") return { ...CANONICAL, ...this.setting };
    if (this.setting !== "mix") return { ...CANONICAL, ...VARIANTS[this.setting] };
    const pick = <T>(...choices: T[]): T => choices[Math.floor(this.random() * choices.length)]!;
    return {
      listItems: pick("flat", "wrapped"),
      bulkCreate: pick("documented", "contentId", "shuffled"),
      createStatus: pick(201, 200),
      updateStatus: pick(204, 200),
      getById: pick("plain", "wrapped"),
      annotations: pick(false, true),
      retryAfter: pick("seconds", "http-date"),
      throttleStatus: pick(429, 503),
      errorCodes: pick("emulator", "generic"),
      serialFilter: pick("exact", "ignoreCase"),
    };
  }

  /** The code this answer gives for an error the emulator raised. */
  static code(shape: ResponseShape, code: string): string {
    return shape.errorCodes === "generic" && UNCONFIRMED_CODES.includes(code) ? "BadRequest" : code;
  }

  /** Shuffles in place (for answers Graph may give in any order). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
