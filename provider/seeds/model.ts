import type { HashFunction, TimeInterval } from "../model/index.js";
import type { Secret } from "./secret.js";

/** What a seed file states about a token in clear: no secret is needed to read it. */
export interface SeedDescription {
  serial: string;
  timeIntervalInSeconds?: TimeInterval;
  hashFunction?: HashFunction;
  manufacturer?: string;
  model?: string;
  upn?: string;
  /** The seed file it came from (set by readSeedFiles), to name it in messages. */
  file?: string;
  /** seeds/fingerprint.ts: from the secret, or from the encrypted store's clear text. */
  fingerprint?: string;
}

/** One token's seed as a vendor file describes it; everything but the secret is optional. */
export interface Seed extends SeedDescription {
  /** Unpadded upper-case base32, as Graph takes it. */
  secret: Secret;
}

/** Seeds by serial (case-insensitive). */
export class SeedStore {
  private readonly seeds = new Map<string, Seed>();

  add(seed: Seed): void {
    this.seeds.set(seed.serial.toUpperCase(), seed);
  }

  get(serial: string): Seed | undefined {
    return this.seeds.get(serial.toUpperCase());
  }

  serials(): Set<string> {
    return new Set([...this.seeds.values()].map((s) => s.serial));
  }

  get size(): number {
    return this.seeds.size;
  }

  all(): Seed[] {
    return [...this.seeds.values()];
  }
}
