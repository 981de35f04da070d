// The two WebAssembly types the published declarations name (a simulator's core is a
// WebAssembly.Module over a shared WebAssembly.Memory), declared for consumers whose
// TypeScript has neither the DOM library nor a @types/node that declares them (a Node
// project with `"lib": ["ES2022"]` and @types/node 20): without this, every import of the
// package fails there with "Cannot find namespace 'WebAssembly'". Empty interfaces merge
// with the full ones wherever those exist, so nothing changes for anyone else.

export {};

declare global {
  namespace WebAssembly {
    interface Module {}
    interface Memory {}
  }
}
