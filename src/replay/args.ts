// The replay language's shared pieces (shared/conformance/README.md's kernel-call scripts):
// a command's arguments, parsed on demand with the line number for errors, and what a family
// of commands (pgtable.ts, iova.ts) gives the dispatcher (index.ts) and gets from it. Apart
// from index.ts so that the families need not import the dispatcher that imports them.

/** Where a command family prints, and how it counts WARNINGs. */
export interface ReplayOutput {
  line(text: string): void;
  warning(text: string): void;
}

export interface CommandFamily {
  /** Handle `cmd` if it belongs to this family; false if it does not. */
  run(cmd: string, args: Args): Promise<boolean> | boolean;
  /** Release whatever the script left allocated. */
  close(): void;
}

/** A command's arguments, parsed on demand with the line number for errors. */
export class Args {
  /** `skipped`: words of the line before these (a form's keyword), so that messages count from the command. */
  constructor(readonly words: string[], private readonly fail: (msg: string) => never, private readonly skipped = 0) {}

  /** The arguments after the first n, numbered as on the line. */
  after(n: number): Args {
    return new Args(this.words.slice(n), this.fail, this.skipped + n);
  }

  get length(): number {
    return this.words.length;
  }

  /** A number argument: decimal or 0x hex, at most 2^53 − 1. */
  num(i: number, name: string, dflt?: number): number {
    const w = this.words[i];
    if (w === undefined) {
      if (dflt !== undefined) return dflt;
      this.fail(`missing argument ${this.skipped + i + 1} (${name})`);
    }
    if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(w)) this.fail(`${name} must be a decimal or 0x-hex number, got '${w}'`);
    const v = Number(w);
    if (!Number.isSafeInteger(v)) this.fail(`${name} ${w} is above 2^53 − 1, which the simulator's addresses cannot hold`);
    return v;
  }

  /** A 0/1 flag argument (the harness's C reads it as a bool): any other number is refused, not taken as 1. */
  flag(i: number, name: string, dflt?: 0 | 1): boolean {
    const v = this.num(i, name, dflt);
    if (v !== 0 && v !== 1) this.fail(`${name} must be 0 or 1, got '${this.words[i]}'`);
    return v === 1;
  }

  word(i: number, name: string): string {
    const w = this.words[i];
    if (w === undefined) this.fail(`missing argument ${this.skipped + i + 1} (${name})`);
    return w;
  }

  atMost(n: number): void {
    if (this.words.length > n) this.fail(`too many arguments (at most ${this.skipped + n})`);
  }
}
