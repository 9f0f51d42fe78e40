"""The check kinds an assignment configures: a function's values, a symbolic answer, a sampler, an experiment."""
