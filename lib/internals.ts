// A symbol under which a balancer keeps its context, for this package's own
// tests only: never exported from the package's entry points.
export const internals = Symbol('modelscope-balance internals');
