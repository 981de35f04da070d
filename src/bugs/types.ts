// The bug zoo's contract: a real kernel bug from shared/reference/bug-corpus.md as a
// built-in, run in its buggy form and in its fixed form. The two forms differ by one named
// switch — a kernel behaviour (assembly/behaviour.ts, KB_*: the fixing commit is a behaviour
// the kernel gained, so the buggy form is a kernel without it), a seed variant, or an
// explorer step variant — never by a forked profile. `iommu-sim bugs` lists the entries
// (src/bugs/index.ts), `iommu-sim bugs run <id>` runs both forms and checks the verdicts.

/** Which form of the code a run uses. */
export type BugForm = "buggy" | "fixed";

/** What one form's run showed. */
export interface BugFormResult {
  form: BugForm;
  /**
   * Whether the checker saw the bug: an oracle violation, a wrong IOVA/PTE/command, a leak,
   * a use-after-free, a step count over its bound … For the fixed form this must be false.
   */
  caught: boolean;
  /** The verdict in a few words, e.g. "AFTER_STRICT ×2, USE_AFTER_FREE ×1" or "clean". */
  verdict: string;
  /** The lines that show it (commands/registers written, the stale access, the wrong value …). */
  evidence: string[];
  /** Numbers a test or the live page may want (step counts, violations …). */
  measures?: Record<string, number>;
}

/** One built-in of the zoo. */
export interface BugEntry {
  /** Short name, kebab-case (e.g. "empty-gather-sync"); `bugs run` also takes the fix's first 12 hex digits. */
  id: string;
  /** Number of the entry in bug-corpus.md. */
  corpus: number;
  /** The fixing commit (12 hex digits), or the thread for a fix that is not one commit (the seed). */
  fix: string;
  /** The commit that introduced it, when known. */
  introducedBy?: string;
  /** The fixing commit's title. */
  title: string;
  /** Where it lives (e.g. "iommu core + arm-smmu v2"). */
  component: string;
  /** What goes wrong, in a line. */
  effect: string;
  /** Which kernels had it. */
  kernels: string;
  /** What the fix changed, in our own words (a sentence or two). */
  fixChanged: string;
  /** How the two forms are told apart: the behaviour/variant name and what each form selects. */
  switch: { kind: "behaviour" | "seed-variant" | "explore-variant" | "option"; name: string; buggy: string; fixed: string };
  /** How it is triggered (the scenario, replay script or explorer run), in a line. */
  trigger: string;
  /** Run one form. Deterministic: the same form gives the same result. */
  run(form: BugForm, opts?: { signal?: AbortSignal }): Promise<BugFormResult>;
}

/** Both forms of one entry, as `bugs run` reports them. */
export interface BugRunResult {
  id: string;
  buggy: BugFormResult;
  fixed: BugFormResult;
  /** The buggy form was caught and the fixed one is clean. */
  pass: boolean;
}
