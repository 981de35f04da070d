// What the core's answer to a live DMA → DMA-FQ switch (dma_switch_lazy) means, in words:
// shared by the workers (a scenario's timed switch) and the orchestrator (a live one).

export function switchResult(rc: number): string {
  if (rc === 0) return "ok";
  return rc === -12 ? "-ENOMEM: the flush queue could not be allocated; the domain stays DMA" : `refused (code ${rc})`;
}
