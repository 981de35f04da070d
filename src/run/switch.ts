// What the core's answer to a live DMA → DMA-FQ switch (dma_switch_lazy) means, in words:
// shared by the workers (a scenario's timed switch) and the orchestrator (a live one).

import type { Core } from "../../bindings/core.js";
import { coreError, isErrno } from "../errno.js";

export function switchResult(core: Core, rc: number): string {
  if (rc === 0) return "ok";
  if (isErrno(core, rc, "ENOMEM")) return "-ENOMEM: the flush queue could not be allocated; the domain stays DMA";
  return `refused: ${coreError(core, rc, "dma_switch_lazy").message}`;
}
