import { inspect } from "node:util";

/**
 * A token seed. Printing, logging, JSON.stringify or util.inspect show "[secret]"; only reveal()
 * gives the value, so an accidental console.log(seed) cannot leak it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "[secret]";
  }

  toJSON(): string {
    return "[secret]";
  }

  [inspect.custom](): string {
    return "[secret]";
  }
}
