// The host types the published declarations of the main entry name — the two WebAssembly
// ones (a simulator's core is a WebAssembly.Module over a shared WebAssembly.Memory), URL (a
// core's or worker's location) and AbortSignal (what stops a run) — declared for consumers
// whose TypeScript has neither the DOM library nor a @types/node that declares them (a Node
// project with `"lib": ["ES2022"]` and @types/node 20 lacks WebAssembly; one with no types
// at all, all four): without this, every import of the package fails there with "Cannot find
// name". Empty interfaces merge with the full ones wherever those exist, so nothing changes
// for anyone else. (iommu-sim/node is for Node, whose types it takes from @types/node.)

export {};

declare global {
  namespace WebAssembly {
    interface Module {}
    interface Memory {}
  }
  interface URL {}
  interface AbortSignal {}
}
