// The machine a behaviour-switched bug-zoo entry runs: a kernel profile that has the fix
// (the behaviour bit), and for the buggy form the same profile without that bit — the
// kernel as it was before the fixing commit, not a forked profile (src/bugs/types.ts).

import { Simulator } from "../simulator.js";
import type { Behaviour, Profile } from "../profile.js";
import type { BugForm } from "./types.js";

/** A simulator of `profile`, without `behaviour` for the buggy form. Close it after use. */
export async function formSimulator(form: BugForm, profile: Profile, behaviour: Behaviour,
                                    sizes: { ramMiB?: number; kheapMiB?: number; pageSize?: number } = {}): Promise<Simulator> {
  return Simulator.create({
    profile, ramMiB: sizes.ramMiB ?? 4, kheapMiB: sizes.kheapMiB ?? 4, pageSize: sizes.pageSize ?? 4096,
    ...(form === "buggy" ? { behaviours: { without: [behaviour] } } : {}),
  });
}
